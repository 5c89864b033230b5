--[[
  Creates a plain experiment's record and its tags in one step.

  KEYS[1] experiment hash   KEYS[2] experiment tags hash
  ARGV[1] project  ARGV[2] name  ARGV[3] description  ARGV[4] now (ms)  ARGV[5] created by
  ARGV[6..] tags, key and value pairs
  Returns 1 when created, 0 when the id is taken.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'kind', 'plain', 'project', ARGV[1], 'name', ARGV[2], 'description', ARGV[3],
  'createdAt', ARGV[4], 'lastActivity', ARGV[4], 'createdBy', ARGV[5], 'directRuns', 0)
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
