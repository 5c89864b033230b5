--[[
  Removes an alias, recorded in the history.

  KEYS[1] model hash  KEYS[2] aliases hash  KEYS[3] history list
  ARGV[1] alias  ARGV[2] by  ARGV[3] now (ms)  ARGV[4] history cap
  Returns the version it named, or -1 when there is no such alias.
]]
local before = redis.call('HGET', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 or not before then return -1 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], cjson.encode({ time = tonumber(ARGV[3]), by = ARGV[2], kind = 'alias-deleted', alias = ARGV[1], version = tonumber(before) }))
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
return tonumber(before)
