--[[
  Promotes a PAUSED trial: it goes back to QUEUED with a bigger budget, to resume from its
  latest checkpoint as its next attempt. The early-stopping decision that paused it is cleared,
  and it stops being a promotion candidate. Only the replica holding the study's lease may
  promote (the lease is the fencing token): a replica that lost its lease while choosing cannot
  promote a second trial into a slot the new holder is filling.

  KEYS[1] study hash  KEYS[2] trial hash  KEYS[3] pending set  KEYS[4] paused set
  KEYS[5] lease  KEYS[6] stop state hash  KEYS[7] promotion candidates zset  KEYS[8] trial state index (zset)
  ARGV[1] budget  ARGV[2] now (ms)  ARGV[3] lease owner (this replica's id)
  Returns 1 when queued again, 0 when the trial was not PAUSED or the study not RUNNING,
  -1 when ARGV[3] does not hold the lease.
]]
--@include trialStateIndex
if redis.call('GET', KEYS[5]) ~= ARGV[3] then return -1 end
if redis.call('HGET', KEYS[2], 'state') ~= 'PAUSED' then return 0 end
if redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then return 0 end
local n = redis.call('HGET', KEYS[2], 'number')
redis.call('HSET', KEYS[2], 'state', 'QUEUED', 'budget', ARGV[1], 'updatedAt', ARGV[2])
redis.call('HDEL', KEYS[2], 'stopDecision', 'stopReason')
redis.call('HINCRBY', KEYS[1], 'paused', -1)
redis.call('HINCRBY', KEYS[1], 'queued', 1)
redis.call('SREM', KEYS[4], n)
redis.call('SADD', KEYS[3], n)
indexTrialState(KEYS[8], n, 'QUEUED') -- state index
local pf = 'p:' .. n
local c = redis.call('HGET', KEYS[6], pf)
if c then
  redis.call('ZREM', KEYS[7], c)
  redis.call('HDEL', KEYS[6], pf)
end
return 1
