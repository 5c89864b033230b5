--[[
  Deletes a model's name and every key of it (its files are removed by the caller afterwards).

  KEYS[1] registry names hash  KEYS[2] model hash  KEYS[3] versions hash  KEYS[4] aliases hash  KEYS[5] history list
  ARGV[1] model id  ARGV[2] name
  Returns 1 when deleted, 0 when the name no longer names this model.
]]
if redis.call('HGET', KEYS[1], ARGV[2]) ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return 1
