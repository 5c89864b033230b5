--[[
  Gives a lease back, only if it is still ours (a graceful shutdown hands studies over at once).
  KEYS[1] lease key   ARGV[1] owner id
  Returns 1 when released, 0 otherwise.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
