--[[
  Sets and deletes tags of one experiment, refused whole past the cap on its tags: counted
  here, so that many calls (one tag each, as MLflow's set-experiment-tag sends them) or
  concurrent ones cannot grow the hash without bound.

  KEYS[1] the experiment's tags hash
  ARGV[1] the most tags it may hold (tombstones, which hide a study spec's tag, do not count)
  ARGV[2] the tombstone value
  ARGV[3..] triples: key, op (S set to the value, T tombstone, D delete), value
  Returns 1 when applied, 0 when over the cap (nothing applied).
]]
local cap, tomb = tonumber(ARGV[1]), ARGV[2]
local n = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  if v ~= tomb then n = n + 1 end
end
for i = 3, #ARGV, 3 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local live = old and old ~= tomb
  if ARGV[i + 1] == 'S' and not live then n = n + 1 end
  if ARGV[i + 1] ~= 'S' and live then n = n - 1 end
end
if n > cap then return 0 end
for i = 3, #ARGV, 3 do
  local op = ARGV[i + 1]
  if op == 'S' then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  elseif op == 'T' then redis.call('HSET', KEYS[1], ARGV[i], tomb)
  else redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1
