--[[
  Appends one metric batch of the current attempt, exactly once: a batch whose seq is not
  above the attempt's last seq is a replay and changes nothing; a batch of an older attempt
  is stale and changes nothing.

  KEYS[1] trial hash   KEYS[2] metrics list   KEYS[3] objective list (the objective's points alone, for early stopping)
  ARGV[1] attempt  ARGV[2] seq (0: the next one, for ask/tell reports that carry none)  ARGV[3] objective metric name  ARGV[4] now (ms)
  ARGV[5..] points, 4 values each: name, step, value, timeMs
  Returns 1 appended, 0 duplicate, -1 stale attempt, -2 gap (an earlier batch is missing).
]]
local attempt = tonumber(ARGV[1])
if tonumber(redis.call('HGET', KEYS[1], 'attempt') or '0') ~= attempt
  or redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then
  return -1
end
local lastSeq = tonumber(redis.call('HGET', KEYS[1], 'lastSeq') or '0')
local seq = tonumber(ARGV[2])
if seq == 0 then seq = lastSeq + 1 end
if seq <= lastSeq then return 0 end
-- Batches are stored strictly in order: after a gap the sender must replay from the gap,
-- or the missing batch would later look like a duplicate and be dropped.
if seq ~= lastSeq + 1 then return -2 end
local rows = {}
local objRows = {}
local objValue, objStep = nil, nil
for i = 5, #ARGV, 4 do
  rows[#rows + 1] = attempt .. '\t' .. ARGV[i] .. '\t' .. ARGV[i + 1] .. '\t' .. ARGV[i + 2] .. '\t' .. ARGV[i + 3]
  if ARGV[i] == ARGV[3] then
    objStep = ARGV[i + 1]; objValue = ARGV[i + 2]
    objRows[#objRows + 1] = ARGV[i + 1] .. '\t' .. ARGV[i + 2]
  end
end
if #rows > 0 then redis.call('RPUSH', KEYS[2], unpack(rows)) end
if #objRows > 0 then redis.call('RPUSH', KEYS[3], unpack(objRows)) end
redis.call('HSET', KEYS[1], 'lastSeq', seq, 'heartbeatAt', ARGV[4])
if objValue then redis.call('HSET', KEYS[1], 'objValue', objValue, 'objStep', objStep) end
return 1
