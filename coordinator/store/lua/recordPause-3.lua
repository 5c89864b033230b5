--[[
  Records a PAUSE decision on the current attempt (as recordDecision does) and, in the same
  step, makes the trial a promotion candidate at its rung, so no paused trial can be missing
  from the index that promotions are chosen from.

  KEYS[1] trial hash   KEYS[2] stop state hash   KEYS[3] promotion candidates zset (lex)
  ARGV[1] attempt  ARGV[2] reason  ARGV[3] trial number  ARGV[4] candidate member "b:k:value:number"
  Returns 1 when recorded, 0 otherwise (not running, another attempt, or already decided).
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'attempt') or '0') ~= tonumber(ARGV[1]) then return 0 end
if redis.call('HEXISTS', KEYS[1], 'stopDecision') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'stopDecision', 'PAUSED', 'stopReason', ARGV[2])
local pf = 'p:' .. ARGV[3]
local old = redis.call('HGET', KEYS[2], pf)
if old then redis.call('ZREM', KEYS[3], old) end
redis.call('ZADD', KEYS[3], 0, ARGV[4])
redis.call('HSET', KEYS[2], pf, ARGV[4])
return 1
