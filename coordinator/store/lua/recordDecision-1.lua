--[[
  Records an early-stopping decision (PRUNED or PAUSED) on the current attempt before the
  worker is told, so that however the program then ends (stopped, or exiting 0 at its budget)
  the attempt ends in the decided state. The first decision stands.

  KEYS[1] trial hash   ARGV[1] attempt  ARGV[2] PRUNED | PAUSED  ARGV[3] reason
  Returns 1 when recorded, 0 otherwise.
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'attempt') or '0') ~= tonumber(ARGV[1]) then return 0 end
if redis.call('HEXISTS', KEYS[1], 'stopDecision') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'stopDecision', ARGV[2], 'stopReason', ARGV[3])
return 1
