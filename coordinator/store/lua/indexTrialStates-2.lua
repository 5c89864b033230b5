--[[
  Backfills the trial state index of a study from before it: one chunk of consecutive trial
  numbers, read and indexed in one step, so no transition can slip between the read of a
  trial's state and its index entry (every transition script indexes as it goes). The study
  hash's `ixStates` is the number of the first trial not yet backfilled, or 'done' once every
  trial that existed before the index has been (later trials were indexed when created).

  KEYS[1] study hash   KEYS[2] trial state index (zset)   KEYS[3..] the chunk's trial hashes, in order
  ARGV[1] number of the chunk's first trial (KEYS[3])
  Returns the study's marker after the chunk ('done' or the next number), '' when the study is
  gone (nothing written), or the unchanged marker when another caller did this chunk first.
]]
--@include trialStateIndex
local created = redis.call('HGET', KEYS[1], 'nextNumber')
if not created then return '' end
local marker = redis.call('HGET', KEYS[1], 'ixStates') or '0'
if marker == 'done' or marker ~= ARGV[1] then return marker end
local from = tonumber(ARGV[1])
for i = 3, #KEYS do
  local state = redis.call('HGET', KEYS[i], 'state')
  if state then indexTrialState(KEYS[2], from + i - 3, state) end
end
local nextFrom = from + #KEYS - 2
if nextFrom >= tonumber(created) then marker = 'done' else marker = tostring(nextFrom) end
redis.call('HSET', KEYS[1], 'ixStates', marker)
return marker
