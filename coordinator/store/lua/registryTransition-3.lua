--[[
  Moves a version to a stage (None, Staging, Production, Archived); with archive-existing, every
  other version in that stage (Staging or Production) goes to Archived in the same step. Each
  change is recorded in the history.

  KEYS[1] model hash  KEYS[2] versions hash  KEYS[3] history list
  ARGV[1] version  ARGV[2] stage  ARGV[3] archive existing (1/0)  ARGV[4] by  ARGV[5] now (ms)  ARGV[6] history cap
  Returns the JSON list of changes [{version, from, to}], false when there is no such version, or
  -1 when the target is Staging or Production and the version is not READY (its files are not all
  there: archive-existing would retire a working version for it).
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return false end
if (ARGV[2] == 'Staging' or ARGV[2] == 'Production') and cjson.decode(raw).status ~= 'READY' then return -1 end
local now = tonumber(ARGV[5])
local changes = {}
local function move(v, doc, to)
  local from = doc.stage or 'None'
  doc.stage = to
  doc.updatedAt = now
  redis.call('HSET', KEYS[2], v, cjson.encode(doc))
  table.insert(changes, { version = tonumber(v), from = from, to = to })
  redis.call('LPUSH', KEYS[3], cjson.encode({ time = now, by = ARGV[4], kind = 'stage', version = tonumber(v), from = from, to = to }))
end
move(ARGV[1], cjson.decode(raw), ARGV[2])
if ARGV[3] == '1' and (ARGV[2] == 'Staging' or ARGV[2] == 'Production') then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if all[i] ~= ARGV[1] then
      local d = cjson.decode(all[i + 1])
      if d.stage == ARGV[2] then move(all[i], d, 'Archived') end
    end
  end
end
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[5])
return cjson.encode(changes)
