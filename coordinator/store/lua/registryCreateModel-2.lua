--[[
  Registers a model: claims its name and writes its record in one step.

  KEYS[1] registry names hash   KEYS[2] model hash
  ARGV[1] model id  ARGV[2] name  ARGV[3] project  ARGV[4] description  ARGV[5] now (ms)  ARGV[6] created by
  ARGV[7..] tags, key and value pairs
  Returns 1 when created, 0 when the name is taken.
]]
if redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'name', ARGV[2], 'project', ARGV[3], 'description', ARGV[4],
  'createdAt', ARGV[5], 'updatedAt', ARGV[5], 'createdBy', ARGV[6], 'nextVersion', 0)
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[2], 't:' .. ARGV[i], ARGV[i + 1]) end
return 1
