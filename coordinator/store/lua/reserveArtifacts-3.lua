--[[
  Reserves room for an upload of artifacts to one run, before any byte is written: the run's
  stored bytes, plus live reservations, plus the upload (less what files it replaces), must fit
  maxBytes; its files plus reserved new ones plus the upload's new ones must fit maxFiles.
  Reservations of uploads that died (a coordinator gone mid-stream) lapse at their deadline.

  KEYS[1] the run's artifact hash (path -> "size\tsha256\tcontentType\ttimeMs")
  KEYS[2] the run's stored bytes (string)
  KEYS[3] the run's live reservations (zset "token:bytes:files" scored by deadline ms)
  ARGV[1] now ms  ARGV[2] deadline ms  ARGV[3] maxBytes  ARGV[4] maxFiles  ARGV[5] token
  ARGV[6..] path, size pairs
  Returns {1, member} or {0, 'bytes'|'files', in use, limit}.
]]
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
local pendingBytes, pendingFiles = 0, 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local b, f = string.match(m, ':(%d+):(%d+)$')
  pendingBytes = pendingBytes + tonumber(b)
  pendingFiles = pendingFiles + tonumber(f)
end
local add, newFiles, replaced = 0, 0, 0
for i = 6, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if old then replaced = replaced + tonumber(string.match(old, '^(%d+)')) else newFiles = newFiles + 1 end
  add = add + tonumber(ARGV[i + 1])
end
local used = tonumber(redis.call('GET', KEYS[2]) or '0') + pendingBytes
if used - replaced + add > tonumber(ARGV[3]) then return {0, 'bytes', tostring(used), ARGV[3]} end
local files = redis.call('HLEN', KEYS[1]) + pendingFiles
if files + newFiles > tonumber(ARGV[4]) then return {0, 'files', tostring(files), ARGV[4]} end
local member = ARGV[5] .. ':' .. add .. ':' .. newFiles
redis.call('ZADD', KEYS[3], ARGV[2], member)
return {1, member}
