--[[
  Indexes a trial's new objective reports for early stopping, once. The trial's index state
  (`c:<n>`: reports indexed, rungs reached, running sum and minimum) is advanced only if it is
  still what the caller read (compare-and-set), so two readers of the same reports cannot both
  count them; then the trial joins each rung it has just reached (as Optuna's completed_rung_k),
  with its value at that rung, and the caller learns its place there.

  Nothing is written once the study is gone: a batch stored just before a deletion is indexed
  just after it, and keys written then would never be deleted.

  KEYS[1] stop state hash   KEYS[2] rungs zset (lex)   KEYS[3] promotion candidates zset (lex)
  KEYS[4] study hash
  ARGV[1] trial number  ARGV[2] index state read ('' when none)  ARGV[3] new index state
  ARGV[4..] per rung reached, 3 values: member "b:k:value:number", lex min "[b:k:", lex max "(b:k;"
  Returns {1, place, size, place, size, ...} (0-based place among the rung's members, and how
  many reached it), {0} when the state changed underneath (the caller re-reads), or {-1} when
  the study no longer exists.
]]
if redis.call('EXISTS', KEYS[4]) == 0 then return {-1} end
local f = 'c:' .. ARGV[1]
if (redis.call('HGET', KEYS[1], f) or '') ~= ARGV[2] then return {0} end
redis.call('HSET', KEYS[1], f, ARGV[3])
local out = {1}
local pf = 'p:' .. ARGV[1]
for i = 4, #ARGV, 3 do
  local m, lo, hi = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('ZADD', KEYS[2], 0, m)
  local before = redis.call('ZLEXCOUNT', KEYS[2], '-', '(' .. string.sub(lo, 2))
  out[#out + 1] = redis.call('ZRANK', KEYS[2], m) - before
  out[#out + 1] = redis.call('ZLEXCOUNT', KEYS[2], lo, hi)
  -- A paused trial that reported past another rung before it stopped waits at that rung.
  local c = redis.call('HGET', KEYS[1], pf)
  if c then
    redis.call('ZREM', KEYS[3], c)
    redis.call('ZADD', KEYS[3], 0, m)
    redis.call('HSET', KEYS[1], pf, m)
  end
end
return out
