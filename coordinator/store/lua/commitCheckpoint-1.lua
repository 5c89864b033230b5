--[[
  Makes a fully written checkpoint the trial's latest, if it comes from the current attempt and
  is not older than the latest; keeps the newest ARGV[4] and returns the ids to delete.

  KEYS[1] trial hash
  ARGV[1] attempt  ARGV[2] checkpoint id  ARGV[3] step  ARGV[4] keep
  Returns {accepted (1/0), reason, id-to-prune...}.
]]
if tonumber(redis.call('HGET', KEYS[1], 'attempt') or '0') ~= tonumber(ARGV[1]) then
  return {0, 'not the current attempt'}
end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'RUNNING' and state ~= 'PAUSED' then return {0, 'trial is ' .. tostring(state)} end
local step = tonumber(ARGV[3])
if step < tonumber(redis.call('HGET', KEYS[1], 'checkpointStep') or '-1') then
  return {0, 'older than the latest checkpoint'}
end
local kept = cjson.decode(redis.call('HGET', KEYS[1], 'checkpoints') or '[]')
table.insert(kept, ARGV[2])
local out = {1, ''}
local keep = tonumber(ARGV[4])
while #kept > keep do
  table.insert(out, table.remove(kept, 1))
end
redis.call('HSET', KEYS[1], 'checkpointId', ARGV[2], 'checkpointStep', step, 'checkpoints', cjson.encode(kept))
return out
