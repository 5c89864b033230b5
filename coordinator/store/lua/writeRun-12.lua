--[[
  Writes fields of one run's document (a direct run's hash, or a trial run's `trial:<n>:run`
  hash) and keeps the experiment's search indexes in step with it, in one step: an index never
  disagrees with the document it was read from.

  KEYS[1] run document hash   KEYS[2] index names hash   KEYS[3] all-runs zset
  KEYS[4] start-time zset     KEYS[5] end-time zset
  KEYS[6..10] status sets: RUNNING SCHEDULED FINISHED FAILED KILLED
  KEYS[11] experiment hash (lastActivity, directRuns)   KEYS[12] experiment's direct-runs zset
  KEYS[13..] per-name indexes, referenced by the ops below
  ARGV[1] run id   ARGV[2] mode: create (refused if the document exists) | update (refused if
  it does not) | ensure (creates it if absent; trial runs) | params (update; a `p:` field that
  has another value refuses the whole call) | metrics (update; an `N` op over its cap refuses it)
  ARGV[3] now (ms: the experiment's lastActivity)   ARGV[4] creation time (ms: the all-runs score)
  ARGV[5] 1 to count a new direct run on the experiment
  ARGV[6..] ops, 4 values each: field, op, value, index key position (0: none)
    op S: set   D: delete   I: set only if the document is new (trial defaults)
    R: RPUSH the value onto the list at the index key position (a metric series)
    N: add the value to the counter field, refused ({-2}) past the cap in the index key position
    E: a guard: the key at the index key position must exist, else nothing is applied ({-1}).
       A trial run's writes name the trial's hash: a write racing the study's deletion must not
       re-create index keys that nobody would delete.
    C: a cap on a field family: the field is the family ('p:' or 't:'), the value its most
       fields once the call is applied; refused ({-3, family, cap}) past it, nothing applied.
       Counted here, not by the caller: two concurrent calls that each fit cannot both pass.
    field families: `p:`/`t:` lex index "<value>\0<run id>", `m:` score index, `a:start`/`a:end`
    score indexes, `a:status` the status sets, anything else: no index
  Returns {1} applied, {-1} exists (create) or missing (update, params, metrics), {-2} over a cap,
  {-3, family, cap} over a family cap, {0, field, old, new} a param already set to another value (nothing applied).
]]
local id = ARGV[1]
local mode = ARGV[2]
local exists = redis.call('EXISTS', KEYS[1]) == 1
-- A trial's document may hold metrics before its first transition was indexed: it is new until it has a creation time.
local fresh = redis.call('HEXISTS', KEYS[1], 'a:created') == 0
if mode == 'create' and exists then return {-1} end
if (mode == 'update' or mode == 'params' or mode == 'metrics') and not exists then return {-1} end
for i = 6, #ARGV, 4 do
  if ARGV[i + 1] == 'E' and redis.call('EXISTS', KEYS[tonumber(ARGV[i + 3])]) == 0 then return {-1} end
end
for i = 6, #ARGV, 4 do
  if ARGV[i + 1] == 'N' and tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') + tonumber(ARGV[i + 2]) > tonumber(ARGV[i + 3]) then return {-2} end
end

for i = 6, #ARGV, 4 do
  if ARGV[i + 1] == 'C' then
    local fam, cap = ARGV[i], tonumber(ARGV[i + 2])
    local n = 0
    for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
      if string.sub(f, 1, 2) == fam then n = n + 1 end
    end
    for j = 6, #ARGV, 4 do
      local f, op = ARGV[j], ARGV[j + 1]
      if string.sub(f, 1, 2) == fam and op ~= 'C' then
        local has = redis.call('HEXISTS', KEYS[1], f) == 1
        if (op == 'S' or (op == 'I' and fresh)) and not has then n = n + 1 end
        if op == 'D' and has then n = n - 1 end
      end
    end
    if n > cap then return {-3, fam, cap} end
  end
end

if mode == 'params' then
  for i = 6, #ARGV, 4 do
    if string.sub(ARGV[i], 1, 2) == 'p:' then
      local old = redis.call('HGET', KEYS[1], ARGV[i])
      if old and old ~= ARGV[i + 2] then return {0, ARGV[i], old, ARGV[i + 2]} end
    end
  end
end

local STATUS = {RUNNING = 6, SCHEDULED = 7, FINISHED = 8, FAILED = 9, KILLED = 10}
for i = 6, #ARGV, 4 do
  local field, op, value, ki = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  if op == 'C' or op == 'E' then
    -- checked above
  elseif op == 'R' then
    redis.call('RPUSH', KEYS[ki], value)
  elseif op == 'N' then
    redis.call('HINCRBY', KEYS[1], field, value)
  elseif op ~= 'I' or fresh then
    local old = redis.call('HGET', KEYS[1], field)
    local new = value
    if op == 'D' then new = false end
    if old ~= new then
      local fam = string.sub(field, 1, 2)
      if fam == 'p:' or fam == 't:' then
        if old then redis.call('ZREM', KEYS[ki], old .. '\0' .. id) end
        if new then redis.call('ZADD', KEYS[ki], 0, new .. '\0' .. id) end
      elseif fam == 'm:' then
        if new then redis.call('ZADD', KEYS[ki], new, id) else redis.call('ZREM', KEYS[ki], id) end
      elseif field == 'a:start' or field == 'a:end' then
        local k = field == 'a:start' and KEYS[4] or KEYS[5]
        if new then redis.call('ZADD', k, new, id) else redis.call('ZREM', k, id) end
      elseif field == 'a:status' then
        if old and STATUS[old] then redis.call('SREM', KEYS[STATUS[old]], id) end
        if new and STATUS[new] then redis.call('SADD', KEYS[STATUS[new]], id) end
      end
      if ki > 0 and new then redis.call('HSET', KEYS[2], fam .. string.sub(field, 3), 1) end
      if new then redis.call('HSET', KEYS[1], field, new) else redis.call('HDEL', KEYS[1], field) end
    end
  end
end
if fresh then
  redis.call('ZADD', KEYS[3], ARGV[4], id)
  redis.call('HSETNX', KEYS[1], 'a:created', ARGV[4])
  if ARGV[5] == '1' then
    redis.call('ZADD', KEYS[12], ARGV[4], id)
    redis.call('HINCRBY', KEYS[11], 'directRuns', 1)
  end
end
redis.call('HSET', KEYS[11], 'lastActivity', ARGV[3])
return {1}
