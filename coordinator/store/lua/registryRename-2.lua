--[[
  Renames a model: the name index moves, the model's keys stay (they are named by its id).

  KEYS[1] registry names hash   KEYS[2] model hash
  ARGV[1] model id  ARGV[2] old name  ARGV[3] new name  ARGV[4] now (ms)
  Returns 1 when renamed, 0 when the new name is taken, -1 when the old name no longer names this model.
]]
if redis.call('HGET', KEYS[1], ARGV[2]) ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[1], ARGV[3], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'name', ARGV[3], 'updatedAt', ARGV[4])
return 1
