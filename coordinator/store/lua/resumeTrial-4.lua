--[[
  Promotes a PAUSED trial: it goes back to QUEUED with a bigger budget, to resume from its
  latest checkpoint as its next attempt. The early-stopping decision that paused it is cleared.

  KEYS[1] study hash  KEYS[2] trial hash  KEYS[3] pending set  KEYS[4] paused set
  ARGV[1] budget  ARGV[2] now (ms)
  Returns 1 when queued again, 0 when the trial was not PAUSED or the study not RUNNING.
]]
if redis.call('HGET', KEYS[2], 'state') ~= 'PAUSED' then return 0 end
if redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then return 0 end
local n = redis.call('HGET', KEYS[2], 'number')
redis.call('HSET', KEYS[2], 'state', 'QUEUED', 'budget', ARGV[1], 'updatedAt', ARGV[2])
redis.call('HDEL', KEYS[2], 'stopDecision', 'stopReason')
redis.call('HINCRBY', KEYS[1], 'paused', -1)
redis.call('HINCRBY', KEYS[1], 'queued', 1)
redis.call('SREM', KEYS[4], n)
redis.call('SADD', KEYS[3], n)
return 1
