--[[
  Moves one stored file's bytes from an upload's reservation to its project's stored bytes.

  KEYS[1] the project's stored artifact bytes  KEYS[2] its reservations
  ARGV[1] the change of stored bytes  ARGV[2] the reservation's member now
  ARGV[3] its member after this file ('' when none is left)  ARGV[4] the reservation's deadline ms
  Returns the project's stored bytes.
]]
if redis.call('ZREM', KEYS[2], ARGV[2]) == 1 and ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3]) end
return redis.call('INCRBY', KEYS[1], ARGV[1])
