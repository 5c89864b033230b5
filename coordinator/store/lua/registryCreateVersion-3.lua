--[[
  Allocates a model's next version number and stores the version's document (PENDING_REGISTRATION
  until its files are copied), recording the creation in the history.

  KEYS[1] model hash  KEYS[2] versions hash  KEYS[3] history list
  ARGV[1] version document (JSON, without `version`)  ARGV[2] now (ms)  ARGV[3] max versions
  ARGV[4] history cap  ARGV[5] created by
  Returns the version number, -1 when there is no such model, -2 when the model has max versions.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[3]) then return -2 end
local v = redis.call('HINCRBY', KEYS[1], 'nextVersion', 1)
local doc = cjson.decode(ARGV[1])
doc.version = v
redis.call('HSET', KEYS[2], tostring(v), cjson.encode(doc))
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[2])
redis.call('LPUSH', KEYS[3], cjson.encode({ time = tonumber(ARGV[2]), by = ARGV[5], kind = 'version-created', version = v }))
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
return v
