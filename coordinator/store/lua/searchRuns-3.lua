--[[
  One page of a run search within one experiment (coordinator/runs/search plans it): finds the
  first `lim` runs after the cursor in the search's order that match the filter, reading each
  candidate's run document once (HMGET), with no round trip per run. Read-only.

  KEYS[1] the experiment's all-runs zset   KEYS[2] its index names hash   KEYS[3] unused (the
  experiment hash: declared so a Cluster routes the call by the experiment's slot)
  KEYS[4..] the indexes the plan names (metric/start/end zsets, lex zsets, status sets)
  ARGV[1] the plan, JSON:
    tp, ts, dp     run document key parts: trial `tp..<number>..ts`, direct `dp..<suffix>`
    fields         document fields read per candidate (fields[1] is 'a:created': exists)
    f              filter tree: {t='c', i=field or 0 (the run id), n=numeric, op, v, vs, pat}
                   | {t='and'|'or', items} | {t='true'} | {t='false'}
    o              order keys: {i=field, 0 the run id, -1 the experiment id (eid), n=numeric,
                   d=descending}; ties by run id ascending
    c              cursor: {v = values as strings or false, id} or absent
    lim            rows wanted
    src            candidate sources (the filter's top-level AND clauses that have an index):
                   {k, t='score'|'lex'|'set'|'all', min, max, w}; w: on the walk's own key
    walk           the first order key's score index, when it has one: {k, min, max, skip, req}:
                   min/max already narrowed to the cursor and to clauses on that key; skip: the
                   cursor is past every run that has the key; req: every match has the key
  Returns {plan used, candidates read, id1, v1_1..v1_m, id2, ...} (m = #o; a missing value is false).
]]
local plan = cjson.decode(ARGV[1])
local fields = plan.fields
local order = plan.o
local lim = tonumber(plan.lim)
local NULL = cjson.null

local function missing(x) return x == nil or x == false or x == NULL end

-- Byte order, whatever locale Redis runs under (Lua's < on strings uses strcoll): the order of
-- JavaScript's < for the ASCII and BMP strings params and tags hold.
local byte = string.byte
local function lt(a, b)
  if a == b then return false end
  local n = #a
  if #b < n then n = #b end
  for i = 1, n do
    local x, y = byte(a, i), byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function less(a, b)
  if type(a) == 'number' then return a < b end
  return lt(a, b)
end

local function docKey(id)
  local dot = string.find(id, '.', 1, true)
  local rest = string.sub(id, dot + 1)
  if string.sub(rest, 1, 1) == 'r' then return plan.dp .. rest end
  return plan.tp .. rest .. plan.ts
end

-- SQL LIKE: % any run, _ one (UTF-8) character, \ makes the next character literal,
-- everything else literal. Matched without backtracking across a %: one anchored pattern
-- (`^.-a.-a.-b$`) costs O(n^k) on a value it does not match, k the number of %s, with Redis
-- blocked for everyone meanwhile. The pattern is cut at its %s into fixed-length segments
-- (literals and _): the first must match at the start, the last at the end, and each middle
-- one is taken at its leftmost place after the previous (optimal, their lengths being fixed).
local ONE_CHAR = '[%z\1-\127\194-\244][\128-\191]*'
local SPECIAL = '[%^%$%(%)%.%[%]%*%+%-%?%%]'
local segmentsOf = {}
local function likeSegments(s)
  local segs = segmentsOf[s]
  if segs then return segs end
  segs = {}
  local cur = {}
  local i, n = 1, #s
  while i <= n do
    local ch = string.sub(s, i, i)
    if ch == '\\' and i < n then
      i = i + 1
      ch = string.sub(s, i, i)
      if string.find(ch, SPECIAL) then cur[#cur + 1] = '%' .. ch
      elseif ch == '\0' then cur[#cur + 1] = '%z' else cur[#cur + 1] = ch end
    elseif ch == '%' then
      segs[#segs + 1] = table.concat(cur)
      cur = {}
    elseif ch == '_' then cur[#cur + 1] = ONE_CHAR
    elseif string.find(ch, SPECIAL) then cur[#cur + 1] = '%' .. ch
    else cur[#cur + 1] = ch end
    i = i + 1
  end
  segs[#segs + 1] = table.concat(cur)
  segmentsOf[s] = segs
  return segs
end

local function like(x, s)
  local segs = likeSegments(s)
  local n = #segs
  if n == 1 then return string.find(x, '^' .. segs[1] .. '$') ~= nil end
  local _, e = string.find(x, '^' .. segs[1])
  if not e then return false end
  local at = e + 1
  for k = 2, n - 1 do
    if segs[k] ~= '' then
      local _, e2 = string.find(x, segs[k], at)
      if not e2 then return false end
      at = e2 + 1
    end
  end
  return string.find(x, segs[n] .. '$', at) ~= nil
end

local function clause(c, vals, id)
  local x
  if c.i == 0 then x = id else x = vals[c.i] end
  local op = c.op
  if op == 'IS NULL' then return missing(x) end
  if op == 'IS NOT NULL' then return not missing(x) end
  if missing(x) then return false end
  if c.n then
    local a = tonumber(x)
    if a == nil then return false end
    if op == 'IN' or op == 'NOT IN' then
      local found = false
      for _, v in ipairs(c.vs) do if a == tonumber(v) then found = true break end end
      if op == 'IN' then return found else return not found end
    end
    local b = tonumber(c.v)
    if b == nil then return false end
    if op == '=' then return a == b elseif op == '!=' then return a ~= b
    elseif op == '<' then return a < b elseif op == '<=' then return a <= b
    elseif op == '>' then return a > b elseif op == '>=' then return a >= b end
    return false
  end
  if op == 'IN' or op == 'NOT IN' then
    local found = false
    for _, v in ipairs(c.vs) do if x == v then found = true break end end
    if op == 'IN' then return found else return not found end
  end
  if op == 'LIKE' then return like(x, c.v) end
  if op == 'ILIKE' then return like(string.lower(x), string.lower(c.v)) end
  local b = c.v
  if op == '=' then return x == b elseif op == '!=' then return x ~= b
  elseif op == '<' then return lt(x, b) elseif op == '<=' then return not lt(b, x)
  elseif op == '>' then return lt(b, x) elseif op == '>=' then return not lt(x, b) end
  return false
end

local function matches(node, vals, id)
  if node == nil or node == NULL then return true end
  local t = node.t
  if t == 'c' then return clause(node, vals, id) end
  if t == 'true' then return true end
  if t == 'false' then return false end
  if t == 'and' then
    for _, it in ipairs(node.items) do if not matches(it, vals, id) then return false end end
    return true
  end
  for _, it in ipairs(node.items) do if matches(it, vals, id) then return true end end
  return false
end

local function rawValue(k, vals, id)
  if k.i == 0 then return id end
  if k.i == -1 then return plan.eid end
  return vals[k.i]
end

local function keyValue(k, vals, id)
  local x = rawValue(k, vals, id)
  if missing(x) then return nil end
  if k.n then return tonumber(x) end
  return x
end

-- -1 when row a sorts first, 1 when b does, 0 for the same run. Missing values sort last in
-- either direction; ties by run id, ascending.
local function compare(av, aid, bv, bid)
  for j, k in ipairs(order) do
    local a, b = av[j], bv[j]
    if a == nil and b ~= nil then return 1 end
    if b == nil and a ~= nil then return -1 end
    if a ~= nil and a ~= b then
      if k.d then
        if less(b, a) then return -1 else return 1 end
      end
      if less(a, b) then return -1 else return 1 end
    end
  end
  if aid == bid then return 0 end
  if lt(aid, bid) then return -1 end
  return 1
end

local cur = nil
if plan.c and plan.c ~= NULL then
  cur = {id = plan.c.id, v = {}}
  for j, k in ipairs(order) do
    local x = plan.c.v[j]
    if missing(x) then cur.v[j] = nil elseif k.n then cur.v[j] = tonumber(x) else cur.v[j] = x end
  end
end

local rows = {}
local read = 0
-- Reads a candidate's document; adds it to rows when it exists, matches and comes after the cursor.
local function consider(id)
  read = read + 1
  local vals = redis.call('HMGET', docKey(id), unpack(fields))
  if not vals[1] then return nil end
  if not matches(plan.f, vals, id) then return nil end
  local ov = {}
  for j, k in ipairs(order) do ov[j] = keyValue(k, vals, id) end
  if cur and compare(ov, id, cur.v, cur.id) <= 0 then return nil end
  local row = {id = id, v = ov, raw = {}}
  for j, k in ipairs(order) do row.raw[j] = rawValue(k, vals, id) end
  rows[#rows + 1] = row
  return row
end

local function sortRows(list)
  table.sort(list, function(a, b) return compare(a.v, a.id, b.v, b.id) < 0 end)
end

local function count(s)
  local k = KEYS[s.k]
  if s.t == 'score' then return redis.call('ZCOUNT', k, s.min, s.max) end
  if s.t == 'lex' then return redis.call('ZLEXCOUNT', k, s.min, s.max) end
  if s.t == 'set' then return redis.call('SCARD', k) end
  return redis.call('ZCARD', k)
end

local total = redis.call('ZCARD', KEYS[1])
local best, bestCount = nil, total
-- Selectivity of the filter beyond the walk's own range, taking its clauses as independent.
local sel = 1
for _, s in ipairs(plan.src or {}) do
  local n = count(s)
  if n < bestCount then best, bestCount = s, n end
  if not s.w and total > 0 then sel = sel * n / total end
end

-- Walking the order index reads about lim/selectivity documents; collecting candidates reads
-- them all and sorts them.
local useWalk = false
local walk = plan.walk
if walk and walk ~= NULL then
  local inRange = redis.call('ZCOUNT', KEYS[walk.k], walk.min, walk.max)
  if sel <= 0 then sel = 1 / (total + 1) end
  local walkCost = math.min(inRange, (lim + 1) / sel)
  if walkCost <= bestCount * 1.5 or bestCount > 20000 then useWalk = true end
end

local used
if useWalk then
  used = 'walk'
  local desc = order[1].d
  local lo, hi = walk.min, walk.max
  local skipWalk = walk.skip == true
  local got = 0
  local lastScore = nil
  local offset = 0
  local CHUNK = math.max(64, math.min(1000, lim * 4))
  local done = false
  while not done and not skipWalk do
    local batch
    if desc then batch = redis.call('ZREVRANGEBYSCORE', KEYS[walk.k], hi, lo, 'WITHSCORES', 'LIMIT', offset, CHUNK)
    else batch = redis.call('ZRANGEBYSCORE', KEYS[walk.k], lo, hi, 'WITHSCORES', 'LIMIT', offset, CHUNK) end
    if #batch == 0 then break end
    offset = offset + #batch / 2
    for j = 1, #batch, 2 do
      local score = batch[j + 1]
      -- Enough rows, and the tie group of the last one is complete: nothing later can sort first.
      if got >= lim and score ~= lastScore then done = true break end
      if consider(batch[j]) then
        got = got + 1
        lastScore = score
      end
    end
    if #batch < CHUNK * 2 then break end
  end
  if not done and walk.req then
    sortRows(rows)
  elseif not done then
    -- The index is exhausted: runs without the first order key come last.
    local field = order[1].i
    local missingRows = {}
    local before = #rows
    local off = 0
    while true do
      local ids = redis.call('ZRANGE', KEYS[1], off, off + 999)
      if #ids == 0 then break end
      off = off + #ids
      for _, id in ipairs(ids) do
        local has = field ~= 0 and redis.call('HEXISTS', docKey(id), fields[field]) == 1
        if not has then consider(id) end
      end
    end
    for j = before + 1, #rows do missingRows[#missingRows + 1] = rows[j] end
    for j = #rows, before + 1, -1 do rows[j] = nil end
    sortRows(missingRows)
    sortRows(rows)
    for _, r in ipairs(missingRows) do rows[#rows + 1] = r end
  else
    sortRows(rows)
  end
else
  used = best and best.t or 'all'
  local ids
  local s = best
  if s == nil then ids = redis.call('ZRANGE', KEYS[1], 0, -1)
  elseif s.t == 'score' then ids = redis.call('ZRANGEBYSCORE', KEYS[s.k], s.min, s.max)
  elseif s.t == 'set' then ids = redis.call('SMEMBERS', KEYS[s.k])
  elseif s.t == 'all' then ids = redis.call('ZRANGE', KEYS[s.k], 0, -1)
  else
    ids = redis.call('ZRANGEBYLEX', KEYS[s.k], s.min, s.max)
    for j, m in ipairs(ids) do
      local z = string.find(m, '\0', 1, true)
      ids[j] = string.sub(m, z + 1)
    end
  end
  for _, id in ipairs(ids) do consider(id) end
  sortRows(rows)
end

local out = {used, read}
for j = 1, math.min(lim, #rows) do
  local r = rows[j]
  out[#out + 1] = r.id
  for m = 1, #order do out[#out + 1] = r.raw[m] or false end
end
return out
