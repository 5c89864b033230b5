--[[
  Changes a version's document: description, status, files, tags (the tag cap is checked before any write).

  KEYS[1] model hash  KEYS[2] versions hash
  ARGV[1] version  ARGV[2] JSON {description?, status?, statusMessage?, files?, set?: {k: v}, del?: [k]}
  ARGV[3] now (ms)  ARGV[4] max tags
  Returns the new document (JSON), false when there is no such version, -1 when the tags would pass the cap.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return false end
local doc = cjson.decode(raw)
local patch = cjson.decode(ARGV[2])
if type(doc.tags) ~= 'table' then doc.tags = {} end
if type(patch.del) == 'table' then
  for _, k in ipairs(patch.del) do doc.tags[k] = nil end
end
if type(patch.set) == 'table' then
  for k, v in pairs(patch.set) do doc.tags[k] = v end
end
local count = 0
for _ in pairs(doc.tags) do count = count + 1 end
if count > tonumber(ARGV[4]) then return -1 end
for _, f in ipairs({ 'description', 'status', 'statusMessage', 'files' }) do
  if patch[f] ~= nil then doc[f] = patch[f] end
end
doc.updatedAt = tonumber(ARGV[3])
local out = cjson.encode(doc)
redis.call('HSET', KEYS[2], ARGV[1], out)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
return out
