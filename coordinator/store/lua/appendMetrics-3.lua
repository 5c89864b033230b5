--[[
  Appends one metric batch of the current attempt, exactly once: a batch whose seq is not
  above the attempt's last seq is a replay and changes nothing; a batch of an older attempt
  is stale and changes nothing. Each point is stored once, in the series of its metric name;
  points beyond the trial's cap (or of a new name beyond the names cap, the objective
  excepted) are counted, not stored.

  KEYS[1] trial hash   KEYS[2] metric counts hash (name -> points stored)
  KEYS[3] the objective metric's series   KEYS[4..] the series of the batch's other names
  ARGV[1] attempt  ARGV[2] seq (0: the next one, for ask/tell reports that carry none; -1: out of band, no seq taken)
  ARGV[3] now (ms)  ARGV[4] max points per trial  ARGV[5] max metric names per trial
  ARGV[6] n = number of names  ARGV[7] the objective's strategy: latest | min | max (which
  report is the trial's result: the last one, or the lowest / highest so far)
  ARGV[8 .. 7+n] the names, in KEYS order (the objective first)
  ARGV[8+n] the trial's run id ('' to skip the search index)
  ARGV[9+n] the points, packed in one string (one argument instead of four per point, which
  cost the coordinator and Redis more than the points' own work): per point
  "k<TAB>step<TAB>value<TAB>timeMs<LF>", k the name index (1-based, into the names)
  Search index (when ARGV[8+n] is set; coordinator/runs): KEYS[3+n] the trial's run document,
  KEYS[4+n] the experiment's index names hash, KEYS[4+n+k] the latest-value zset of name k,
  KEYS[5+2n] the experiment hash. Each name with a stored point gets its last stored value in
  the document and the zset: per batch, 3 commands per distinct name plus 1 (no reads).
  Series rows are "step<TAB>value<TAB>dt[<TAB>attempt]": dt is timeMs minus the trial's
  createdAt (7-9 digits instead of 13), and the attempt is left out when it is 1 (most trials),
  which makes a point ~16% smaller.
  Returns {1, dropped} appended, {0, 0} duplicate, {-1, 0} stale attempt, {-2, 0} gap.
]]
local attempt = tonumber(ARGV[1])
if tonumber(redis.call('HGET', KEYS[1], 'attempt') or '0') ~= attempt
  or redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then
  return {-1, 0}
end
local lastSeq = tonumber(redis.call('HGET', KEYS[1], 'lastSeq') or '0')
local seq = tonumber(ARGV[2])
-- seq -1: out of band (the program's MLflow calls, coordinator/mlflow): stored without taking a
-- number, so the worker's own batches keep theirs (a bumped lastSeq would drop its next batch).
local outOfBand = seq == -1
if not outOfBand then
  if seq == 0 then seq = lastSeq + 1 end
  if seq <= lastSeq then return {0, 0} end
  -- Batches are stored strictly in order: after a gap the sender must replay from the gap,
  -- or the missing batch would later look like a duplicate and be dropped.
  if seq ~= lastSeq + 1 then return {-2, 0} end
end

local room = tonumber(ARGV[4]) - tonumber(redis.call('HGET', KEYS[1], 'points') or '0')
local namesLeft = tonumber(ARGV[5]) - redis.call('HLEN', KEYS[2])
local n = tonumber(ARGV[6])
local base = tonumber(redis.call('HGET', KEYS[1], 'createdAt') or '0')
local suffix = attempt > 1 and ('\t' .. attempt) or ''
local allowed = {}
local rows = {}
local dropped, stored = 0, 0
local objValue, objStep = nil, nil
local strategy = ARGV[7]
local best = nil
if strategy ~= 'latest' then best = tonumber(redis.call('HGET', KEYS[1], 'objValue') or '') end
local runId = ARGV[8 + n]
local last = {}
for ks, step, value, tms in string.gmatch(ARGV[9 + n], '(%d+)\t([^\t\n]+)\t([^\t\n]+)\t([^\t\n]+)\n') do
  local k = tonumber(ks)
  -- The trial's result follows its objective reports even past the cap.
  if k == 1 then
    local v = tonumber(value)
    if strategy == 'latest' or best == nil or (strategy == 'min' and v < best) or (strategy == 'max' and v > best) then
      objStep = step; objValue = value; best = v
    end
  end
  if allowed[k] == nil then
    local known = redis.call('HEXISTS', KEYS[2], ARGV[7 + k]) == 1
    -- The objective is never refused for the cap: the stopping rules and the result read it.
    if not known and (namesLeft > 0 or k == 1) then namesLeft = namesLeft - 1; known = true end
    allowed[k] = known
    if known then rows[k] = {} end
  end
  if room > 0 and allowed[k] then
    local r = rows[k]
    -- Integral doubles below 1e14 print exactly ("%.14g"): times are checked far below that.
    r[#r + 1] = step .. '\t' .. value .. '\t' .. (tonumber(tms) - base) .. suffix
    room = room - 1
    stored = stored + 1
    last[k] = value
  else
    dropped = dropped + 1
  end
end
-- unpack() of more than ~8,000 values exceeds Lua's C stack: push in chunks.
local CHUNK = 1000
for k, r in pairs(rows) do
  if #r > 0 then
    for j = 1, #r, CHUNK do redis.call('RPUSH', KEYS[2 + k], unpack(r, j, math.min(j + CHUNK - 1, #r))) end
    redis.call('HINCRBY', KEYS[2], ARGV[7 + k], #r)
  end
end
if outOfBand then redis.call('HSET', KEYS[1], 'heartbeatAt', ARGV[3]) else redis.call('HSET', KEYS[1], 'lastSeq', seq, 'heartbeatAt', ARGV[3]) end
if stored > 0 then redis.call('HINCRBY', KEYS[1], 'points', stored) end
if dropped > 0 then redis.call('HINCRBY', KEYS[1], 'pointsDropped', dropped) end
if objValue then redis.call('HSET', KEYS[1], 'objValue', objValue, 'objStep', objStep) end
if runId ~= '' and stored > 0 then
  for k, v in pairs(last) do
    redis.call('HSET', KEYS[3 + n], 'm:' .. ARGV[7 + k], v)
    redis.call('ZADD', KEYS[4 + n + k], v, runId)
    redis.call('HSET', KEYS[4 + n], 'm:' .. ARGV[7 + k], 1)
  end
  redis.call('HSET', KEYS[5 + 2 * n], 'lastActivity', ARGV[3])
end
return {1, dropped}
