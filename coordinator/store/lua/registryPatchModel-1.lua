--[[
  Changes a model's description and tags, all or nothing (the tag cap is checked before any write).

  KEYS[1] model hash
  ARGV[1] now (ms)  ARGV[2] JSON {description?: string, set?: {key: value}, del?: [key]}  ARGV[3] max tags
  Returns 1 when applied, 0 when there is no such model, -1 when the tags would pass the cap.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local patch = cjson.decode(ARGV[2])
local count = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 2) == 't:' then count = count + 1 end
end
local deleting = {}
if type(patch.del) == 'table' then
  for _, k in ipairs(patch.del) do
    if deleting[k] == nil and redis.call('HEXISTS', KEYS[1], 't:' .. k) == 1 then count = count - 1 end
    deleting[k] = true
  end
end
if type(patch.set) == 'table' then
  for k, _ in pairs(patch.set) do
    if redis.call('HEXISTS', KEYS[1], 't:' .. k) == 0 or deleting[k] then count = count + 1 end
  end
end
if count > tonumber(ARGV[3]) then return -1 end
if type(patch.del) == 'table' then
  for _, k in ipairs(patch.del) do redis.call('HDEL', KEYS[1], 't:' .. k) end
end
if type(patch.set) == 'table' then
  for k, v in pairs(patch.set) do redis.call('HSET', KEYS[1], 't:' .. k, v) end
end
if type(patch.description) == 'string' then redis.call('HSET', KEYS[1], 'description', patch.description) end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1])
return 1
