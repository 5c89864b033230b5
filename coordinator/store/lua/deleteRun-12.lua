--[[
  Deletes a direct run's document and every index entry it has, in one step.

  KEYS[1..12] as writeRun-12.lua   KEYS[13..] the per-name indexes of the run's `p:`, `t:` and
  `m:` fields, in the order of ARGV[2..] (fields written after the caller read them keep a
  stale member, which search drops: it reads every candidate's document)
  ARGV[1] run id   ARGV[2..] the document fields KEYS[13..] belong to
  Returns {1, metric names...} when deleted: the run's metric names at this instant, so the caller
  unlinks every series (one first logged after it read the fields included); {0} when there was no such run.
]]
local id = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
for i = 2, #ARGV do
  local field = ARGV[i]
  local v = redis.call('HGET', KEYS[1], field)
  if v then
    local fam = string.sub(field, 1, 2)
    if fam == 'm:' then redis.call('ZREM', KEYS[11 + i], id) else redis.call('ZREM', KEYS[11 + i], v .. '\0' .. id) end
  end
end
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('ZREM', KEYS[5], id)
for k = 6, 10 do redis.call('SREM', KEYS[k], id) end
if redis.call('ZREM', KEYS[12], id) == 1 then redis.call('HINCRBY', KEYS[11], 'directRuns', -1) end
local out = {1}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 2) == 'm:' then out[#out + 1] = string.sub(f, 3) end
end
redis.call('DEL', KEYS[1])
return out
