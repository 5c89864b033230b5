--[[
  A worker starts (or re-connects to) an attempt of a trial.
  A fresh start (ARGV[3] = 0) on a QUEUED or RUNNING trial opens attempt+1; RUNNING means the
  previous attempt's worker died and the job was delivered again. A re-connect (ARGV[3] = the
  attempt granted before) is accepted only while that attempt is still the current one.
  A fresh start repeated with the delivery id of the current RUNNING attempt (its reply was
  lost) gets that attempt back: no new attempt, no retry counted.

  A trial of a study that is no longer RUNNING is cancelled here, once, rather than left
  QUEUED or RUNNING forever by a job delivered after the study ended.

  Every attempt has a secret (only its SHA-256 is stored, `attemptSecret`) and a worker: a
  re-connect must come from that worker with that secret, or it is refused (-1) and changes
  nothing. A granted start (new attempt, or the same attempt again for a re-sent Started)
  stores the new secret's hash: the caller returns the secret in its reply.

  KEYS[1] study hash   KEYS[2] trial hash   KEYS[3] pending set   KEYS[4] trial state index (zset)
  ARGV[1] workerId  ARGV[2] now (ms)  ARGV[3] resumeAttempt  ARGV[4] hardware JSON  ARGV[5] maxRetries
  ARGV[6] delivery id ('' if the sender has none)
  ARGV[7] hash of the new attempt secret  ARGV[8] hash of the presented secret (re-connects)
  Returns {attempt, ''} to run, {0, reason, current attempt} to skip, or {-1, reason} when the
  caller is not the attempt's worker or lacks its secret.
]]
--@include trialStateIndex
local state = redis.call('HGET', KEYS[2], 'state')
if not state then return {0, 'unknown trial'} end
local attempt = tonumber(redis.call('HGET', KEYS[2], 'attempt') or '0')
local resume = tonumber(ARGV[3])
if resume > 0 then
  if state == 'RUNNING' and attempt == resume then
    if redis.call('HGET', KEYS[2], 'workerId') ~= ARGV[1] or redis.call('HGET', KEYS[2], 'attemptSecret') ~= ARGV[8] then
      return {-1, 'attempt ' .. resume .. ' belongs to another worker, or the attempt secret is wrong'}
    end
    redis.call('HSET', KEYS[2], 'heartbeatAt', ARGV[2])
    return {attempt, ''}
  end
  return {0, 'attempt ' .. resume .. ' is no longer current (trial ' .. state .. ', attempt ' .. attempt .. ')'}
end
if state == 'RUNNING' and ARGV[6] ~= '' and redis.call('HGET', KEYS[2], 'deliveryId') == ARGV[6]
    and redis.call('HGET', KEYS[2], 'workerId') == ARGV[1] then
  redis.call('HSET', KEYS[2], 'heartbeatAt', ARGV[2], 'attemptSecret', ARGV[7])
  return {attempt, ''}
end
if state ~= 'QUEUED' and state ~= 'RUNNING' then return {0, 'trial is ' .. state} end
if redis.call('HGET', KEYS[1], 'state') ~= 'RUNNING' then
  redis.call('HSET', KEYS[2], 'state', 'CANCELLED', 'finishedAt', ARGV[2], 'updatedAt', ARGV[2], 'reason', 'study ended')
  redis.call('HINCRBY', KEYS[1], string.lower(state), -1)
  redis.call('HINCRBY', KEYS[1], 'cancelled', 1)
  indexTrialState(KEYS[4], redis.call('HGET', KEYS[2], 'number'), 'CANCELLED') -- state index
  redis.call('SREM', KEYS[3], redis.call('HGET', KEYS[2], 'number'))
  return {0, 'study is not running'}
end
-- Retries count lost attempts only (a promotion of a paused trial is not a retry).
if state == 'RUNNING' and redis.call('HINCRBY', KEYS[2], 'retries', 1) > tonumber(ARGV[5]) then
  return {0, 'retries exhausted', attempt}
end
if state == 'QUEUED' then
  redis.call('HINCRBY', KEYS[1], 'queued', -1)
  redis.call('HINCRBY', KEYS[1], 'running', 1)
end
attempt = attempt + 1
redis.call('HSET', KEYS[2], 'state', 'RUNNING', 'attempt', attempt, 'workerId', ARGV[1],
  'startedAt', ARGV[2], 'heartbeatAt', ARGV[2], 'updatedAt', ARGV[2], 'lastSeq', 0, 'attemptSecret', ARGV[7])
indexTrialState(KEYS[4], redis.call('HGET', KEYS[2], 'number'), 'RUNNING') -- state index
-- Decisions belong to the attempt that earned them.
redis.call('HDEL', KEYS[2], 'stopDecision', 'stopReason')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'hardware', ARGV[4]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], 'deliveryId', ARGV[6]) else redis.call('HDEL', KEYS[2], 'deliveryId') end
return {attempt, ''}
