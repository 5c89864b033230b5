--[[
  Ends a trial that is waiting rather than running: a QUEUED one (CANCELLED when its study
  stops) or a PAUSED one (PRUNED when its study ends without promoting it). PRUNED trials go
  into the samplers' history with their last intermediate value.

  KEYS[1] study hash  KEYS[2] trial hash  KEYS[3] pending set  KEYS[4] paused set  KEYS[5] history list
  KEYS[6] trial state index (zset)
  ARGV[1] now (ms)  ARGV[2] reason  ARGV[3] final state: CANCELLED | PRUNED
  Returns 1 when ended, 0 when the trial was neither QUEUED nor PAUSED.
]]
--@include trialStateIndex
local state = redis.call('HGET', KEYS[2], 'state')
if state ~= 'QUEUED' and state ~= 'PAUSED' then return 0 end
local n = redis.call('HGET', KEYS[2], 'number')
redis.call('HSET', KEYS[2], 'state', ARGV[3], 'finishedAt', ARGV[1], 'updatedAt', ARGV[1], 'reason', ARGV[2])
redis.call('HINCRBY', KEYS[1], string.lower(state), -1)
redis.call('HINCRBY', KEYS[1], string.lower(ARGV[3]), 1)
redis.call('SREM', KEYS[3], n)
redis.call('SREM', KEYS[4], n)
indexTrialState(KEYS[6], n, ARGV[3]) -- state index
local value = redis.call('HGET', KEYS[2], 'objValue')
if ARGV[3] == 'PRUNED' then
  local entry = '{"n":' .. n .. ',"s":"PRUNED","p":' .. redis.call('HGET', KEYS[2], 'params')
  if value then entry = entry .. ',"v":' .. value .. ',"t":' .. (redis.call('HGET', KEYS[2], 'objStep') or '0') end
  redis.call('RPUSH', KEYS[5], entry .. '}')
end
return 1
