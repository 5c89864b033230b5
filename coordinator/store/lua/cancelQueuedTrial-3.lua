--[[
  Cancels a trial that has not started (QUEUED), e.g. when its study is stopped or done.
  KEYS[1] study hash  KEYS[2] trial hash  KEYS[3] pending set
  ARGV[1] now (ms)  ARGV[2] reason
  Returns 1 when cancelled, 0 when the trial was not QUEUED.
]]
if redis.call('HGET', KEYS[2], 'state') ~= 'QUEUED' then return 0 end
redis.call('HSET', KEYS[2], 'state', 'CANCELLED', 'finishedAt', ARGV[1], 'updatedAt', ARGV[1], 'reason', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'queued', -1)
redis.call('HINCRBY', KEYS[1], 'cancelled', 1)
redis.call('SREM', KEYS[3], redis.call('HGET', KEYS[2], 'number'))
return 1
