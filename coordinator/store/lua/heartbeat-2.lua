--[[
  A heartbeat of a trial's attempt, in one round trip: refreshes heartbeatAt if the attempt is
  still the current one and tells the handler what it must repeat to the worker.

  KEYS[1] trial hash   KEYS[2] study hash
  ARGV[1] attempt  ARGV[2] now (ms)
  Returns {0} when the attempt is no longer current (or the trial is not RUNNING), else
  {1, study state, stop decision ('' if none), stop reason}.
]]
local t = redis.call('HMGET', KEYS[1], 'state', 'attempt', 'stopDecision', 'stopReason')
if t[1] ~= 'RUNNING' or tonumber(t[2] or '0') ~= tonumber(ARGV[1]) then return {0} end
redis.call('HSET', KEYS[1], 'heartbeatAt', ARGV[2])
return {1, redis.call('HGET', KEYS[2], 'state') or 'MISSING', t[3] or '', t[4] or ''}
