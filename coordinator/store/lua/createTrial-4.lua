--[[
  Creates trial number ARGV[1] of a RUNNING study, if it is the next number and the study has
  room for it (maxTrials). The runner drives each study from one place, so the number check
  only guards against a stale driver.

  KEYS[1] study hash   KEYS[2] trial hash   KEYS[3] pending set   KEYS[4] trial state index (zset)
  ARGV[1] number  ARGV[2] params JSON  ARGV[3] now (ms)  ARGV[4] maxTrials  ARGV[5] budget ('' = none)
  ARGV[6] batch token ('' = a single creation)  ARGV[7] '1' when this is not the batch's first trial
  Returns 1 when created, 0 when the study is not RUNNING, -1 on a number clash, -2 when full.

  A batch's parameters were suggested each with the earlier ones pending: trial k of a batch may
  only follow trial k-1 of the same batch (the study's `lastBatch`, set by every creation). When
  another creator took a number in between, the rest of the batch is a clash, not trials whose
  parameters were chosen for other numbers.
]]
--@include trialStateIndex
if redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then return 0 end
local n = tonumber(ARGV[1])
if tonumber(redis.call('HGET', KEYS[1], 'nextNumber') or '0') ~= n then return -1 end
if ARGV[7] == '1' and redis.call('HGET', KEYS[1], 'lastBatch') ~= ARGV[6] then return -1 end
if n >= tonumber(ARGV[4]) then return -2 end
redis.call('HSET', KEYS[2], 'number', n, 'state', 'QUEUED', 'params', ARGV[2], 'attempt', 0,
  'createdAt', ARGV[3], 'updatedAt', ARGV[3])
indexTrialState(KEYS[4], n, 'QUEUED') -- state index
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'budget', ARGV[5]) end
redis.call('SADD', KEYS[3], n)
redis.call('HSET', KEYS[1], 'nextNumber', n + 1, 'updatedAt', ARGV[3], 'lastBatch', ARGV[6] or '')
redis.call('HINCRBY', KEYS[1], 'queued', 1)
return 1
