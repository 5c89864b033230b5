--[[
  Removes the entries of a run's artifacts at a path and below it ('' : all of them) and
  their bytes from the run's and the experiment's stored bytes.

  KEYS[1] the run's artifact hash  KEYS[2] the run's stored bytes  KEYS[3] the experiment's stored bytes
  ARGV[1] path ('' for every artifact)
  Returns {entries removed, bytes freed}.
]]
local p = ARGV[1]
local below = p .. '/'
local removed, freed = 0, 0
local cursor = '0'
repeat
  local r = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', 1000)
  cursor = r[1]
  local kv = r[2]
  for i = 1, #kv, 2 do
    local path = kv[i]
    if p == '' or path == p or string.sub(path, 1, #below) == below then
      redis.call('HDEL', KEYS[1], path)
      removed = removed + 1
      freed = freed + tonumber(string.match(kv[i + 1], '^(%d+)'))
    end
  end
until cursor == '0'
if freed ~= 0 then
  redis.call('DECRBY', KEYS[2], freed)
  redis.call('DECRBY', KEYS[3], freed)
end
return {removed, freed}
