--[[
  Deletes a version's document and the aliases naming it, recorded in the history (its files
  are removed by the caller afterwards).

  KEYS[1] model hash  KEYS[2] versions hash  KEYS[3] aliases hash  KEYS[4] history list
  ARGV[1] version  ARGV[2] by  ARGV[3] now (ms)  ARGV[4] history cap
  Returns 1 when deleted, 0 when there is no such version.
]]
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then redis.call('HDEL', KEYS[3], all[i]) end
end
redis.call('LPUSH', KEYS[4], cjson.encode({ time = tonumber(ARGV[3]), by = ARGV[2], kind = 'version-deleted', version = tonumber(ARGV[1]) }))
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[4]) - 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
return 1
