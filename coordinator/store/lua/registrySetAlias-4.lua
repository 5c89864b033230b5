--[[
  Points an alias at a version (creating it, or moving it from the version it named), recorded in the history.

  KEYS[1] model hash  KEYS[2] versions hash  KEYS[3] aliases hash  KEYS[4] history list
  ARGV[1] alias  ARGV[2] version  ARGV[3] by  ARGV[4] now (ms)  ARGV[5] history cap  ARGV[6] max aliases
  Returns the version it named before ('' when new), -1 when there is no such version, -2 when the model has max aliases,
  -3 when the version is not READY (models:/name@alias would name a version whose files are not all there).
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local raw = redis.call('HGET', KEYS[2], ARGV[2])
if not raw then return -1 end
if cjson.decode(raw).status ~= 'READY' then return -3 end
local before = redis.call('HGET', KEYS[3], ARGV[1])
if not before and redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[6]) then return -2 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
local event = { time = tonumber(ARGV[4]), by = ARGV[3], kind = 'alias', alias = ARGV[1], version = tonumber(ARGV[2]) }
if before then event.from = tonumber(before) end
redis.call('LPUSH', KEYS[4], cjson.encode(event))
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
return before or ''
