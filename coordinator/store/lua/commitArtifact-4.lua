--[[
  Records one stored artifact of a run (replacing the entry of the same path) and moves its
  bytes from the upload's reservation to the run's and the experiment's stored bytes.

  KEYS[1] the run's artifact hash  KEYS[2] the run's stored bytes  KEYS[3] the run's reservations
  KEYS[4] the experiment's stored bytes
  ARGV[1] path  ARGV[2] entry ("size\tsha256\tcontentType\ttimeMs")  ARGV[3] size
  ARGV[4] the reservation's member now  ARGV[5] its member after this file ('' when none is left)
  ARGV[6] the reservation's deadline ms
  Returns the change of stored bytes (size less the replaced entry's size).
]]
local old = redis.call('HGET', KEYS[1], ARGV[1])
local delta = tonumber(ARGV[3]) - (old and tonumber(string.match(old, '^(%d+)')) or 0)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCRBY', KEYS[2], delta)
redis.call('INCRBY', KEYS[4], delta)
if redis.call('ZREM', KEYS[3], ARGV[4]) == 1 and ARGV[5] ~= '' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5]) end
return delta
