--[[
  Ends the current attempt of a trial: the one atomic step that sets the trial's final state,
  the study's counters, the best trial, and appends the trial to the samplers' history.
  A duplicated or late message (another attempt, or a trial no longer RUNNING) changes nothing.

  KEYS[1] study hash   KEYS[2] trial hash   KEYS[3] pending set   KEYS[4] history list
  KEYS[5] paused set   KEYS[6] trial state index (zset)
  ARGV[1] attempt  ARGV[2] outcome: COMPLETED | FAILED | PRUNED | PAUSED | CANCELLED | RETRY
  ARGV[3] now (ms)  ARGV[4] direction  ARGV[5] reason  ARGV[6] exitCode  ARGV[7] stderrTail
  ARGV[8] maxRetries  ARGV[9] stop latency (ms, '' if none)
  ARGV[10] output lines cut at the worker's line cap  ARGV[11] bytes dropped with them (added up over attempts)
  ARGV[12] ARGV[13] when the attempt's program started and exited (worker clock, ms; '' if unknown)
  An early-stopping decision recorded on the attempt (recordDecision) wins over how the
  program ended: a program paused at a rung may well exit 0 at its budget first.
  RETRY puts the trial back to QUEUED (attempt kept; the next start opens attempt+1) unless
  its retries are exhausted, in which case it is FAILED. PAUSED keeps the trial out of the
  history: it is not finished, and may be promoted.
  Returns {state, 1} when applied, {currentState, 0} when ignored.
]]
--@include trialStateIndex
local state = redis.call('HGET', KEYS[2], 'state')
if state ~= 'RUNNING' or tonumber(redis.call('HGET', KEYS[2], 'attempt') or '0') ~= tonumber(ARGV[1]) then
  return {state or 'MISSING', 0}
end
local outcome = ARGV[2]
local reason = ARGV[5]
local decided = redis.call('HGET', KEYS[2], 'stopDecision')
if decided then
  outcome = decided
  reason = redis.call('HGET', KEYS[2], 'stopReason') or decided
end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[2], 'stopLatencyMs', ARGV[9]) end
-- bench:load (issue 15): dispatch and completion latency of the attempt's program.
if (ARGV[12] or '') ~= '' then redis.call('HSET', KEYS[2], 'programStartedAt', ARGV[12], 'programExitedAt', ARGV[13]) end
if tonumber(ARGV[10] or '0') > 0 then
  redis.call('HINCRBY', KEYS[2], 'truncatedLines', ARGV[10])
  redis.call('HINCRBY', KEYS[2], 'droppedBytes', ARGV[11])
end
-- Once the study has ended nothing waits for a promotion or a retry.
if redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then
  if outcome == 'PAUSED' then
    outcome = 'PRUNED'
    reason = 'not promoted before the study ended'
  elseif outcome == 'RETRY' then
    outcome = 'CANCELLED'
    reason = 'study ended'
  end
end
local value = redis.call('HGET', KEYS[2], 'objValue')
if outcome == 'COMPLETED' and not value then
  outcome = 'FAILED'
  reason = 'the program exited 0 but never reported the objective metric'
end
if outcome == 'RETRY' then
  local retries = redis.call('HINCRBY', KEYS[2], 'retries', 1)
  if retries > tonumber(ARGV[8]) then
    outcome = 'FAILED'
    reason = reason .. ' (retries exhausted: ' .. retries .. ' lost attempts)'
  else
    redis.call('HSET', KEYS[2], 'state', 'QUEUED', 'updatedAt', ARGV[3], 'lastReason', reason)
    redis.call('HINCRBY', KEYS[1], 'running', -1)
    redis.call('HINCRBY', KEYS[1], 'queued', 1)
    indexTrialState(KEYS[6], redis.call('HGET', KEYS[2], 'number'), 'QUEUED') -- state index
    return {'QUEUED', 1}
  end
end
if outcome == 'PAUSED' then
  redis.call('HSET', KEYS[2], 'state', 'PAUSED', 'updatedAt', ARGV[3], 'lastReason', reason, 'exitCode', ARGV[6])
  redis.call('HINCRBY', KEYS[1], 'running', -1)
  redis.call('HINCRBY', KEYS[1], 'paused', 1)
  local pn = redis.call('HGET', KEYS[2], 'number')
  redis.call('SREM', KEYS[3], pn)
  redis.call('SADD', KEYS[5], pn)
  indexTrialState(KEYS[6], pn, 'PAUSED') -- state index
  return {'PAUSED', 1}
end
redis.call('HSET', KEYS[2], 'state', outcome, 'finishedAt', ARGV[3], 'updatedAt', ARGV[3],
  'reason', reason, 'exitCode', ARGV[6], 'stderrTail', ARGV[7])
-- What only a running attempt needs goes with it (every reader checks for RUNNING first);
-- jobId stays: a deletion finds a job still held by a worker through it.
redis.call('HDEL', KEYS[2], 'heartbeatAt', 'lastSeq', 'stopDecision', 'stopReason')
redis.call('HINCRBY', KEYS[1], 'running', -1)
redis.call('HINCRBY', KEYS[1], string.lower(outcome), 1)
redis.call('SREM', KEYS[3], redis.call('HGET', KEYS[2], 'number'))
local n = tonumber(redis.call('HGET', KEYS[2], 'number'))
indexTrialState(KEYS[6], n, outcome) -- state index
-- Built by hand rather than with cjson, which would round the params to 14 digits.
local entry = '{"n":' .. n .. ',"s":"' .. outcome .. '","p":' .. redis.call('HGET', KEYS[2], 'params')
if value then entry = entry .. ',"v":' .. value .. ',"t":' .. (redis.call('HGET', KEYS[2], 'objStep') or '0') end
redis.call('RPUSH', KEYS[4], entry .. '}')
if outcome == 'COMPLETED' then
  redis.call('HSET', KEYS[2], 'value', value)
  local best = redis.call('HGET', KEYS[1], 'bestValue')
  local v = tonumber(value)
  if not best or (ARGV[4] == 'minimize' and v < tonumber(best)) or (ARGV[4] == 'maximize' and v > tonumber(best)) then
    redis.call('HSET', KEYS[1], 'bestValue', value, 'bestNumber', n)
  end
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
return {outcome, 1}
