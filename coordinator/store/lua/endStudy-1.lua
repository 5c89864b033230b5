--[[
  Moves a RUNNING study to a final state, once.
  KEYS[1] study hash   ARGV[1] state  ARGV[2] reason  ARGV[3] now (ms)
  Returns 1 when applied, 0 when the study was not RUNNING.
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'reason', ARGV[2], 'finishedAt', ARGV[3], 'updatedAt', ARGV[3])
return 1
