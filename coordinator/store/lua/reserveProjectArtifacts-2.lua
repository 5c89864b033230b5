--[[
  Reserves room for an upload in its project's artifact quota (the runs of every experiment of
  the project together), before any byte is written. Reservations lapse at their deadline.

  KEYS[1] the project's stored artifact bytes (string)  KEYS[2] its live reservations (zset "token:bytes")
  ARGV[1] now ms  ARGV[2] deadline ms  ARGV[3] max bytes (-1: no limit, the bytes are only counted)
  ARGV[4] token  ARGV[5] bytes
  Returns {1, member} or {0, in use, limit}.
]]
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do used = used + tonumber(string.match(m, ':(%d+)$')) end
local max = tonumber(ARGV[3])
if max >= 0 and used + tonumber(ARGV[5]) > max then return {0, tostring(used), ARGV[3]} end
local member = ARGV[4] .. ':' .. ARGV[5]
redis.call('ZADD', KEYS[2], ARGV[2], member)
return {1, member}
