--[[
  Takes or renews the lease on driving one study: granted when free, expired, or already ours.
  KEYS[1] lease key   ARGV[1] owner id  ARGV[2] ttl (ms)
  Returns 1 when held by ARGV[1] now, 0 when another owner holds it.
]]
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
