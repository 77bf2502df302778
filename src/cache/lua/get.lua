-- Reads entries. KEYS[1]: P..'idx' (routing). ARGV: P, now (ms), count ('1': add to the
-- hit and miss counters), lease ms ('' none), lease token, then the keys.
-- Returns per key {type, data} for a hit, 1 for a miss that took the lease, 0 for a miss.
-- An expired or invalidated entry met here is removed; a tagged entry served here records
-- the tag clock (its field y) it was checked at.
local P, now, count, lease, token = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local out = {}
local hits, misses = 0, 0
for i = 6, #ARGV do
  local k = ARGV[i]
  local r = redis.call('HMGET', ekey(P, k), 't', 'd', 'x', 'g', 's', 'e')
  local hit = false
  if r[1] then
    if (not r[6] or tonumber(r[6]) > now) and redis.call('ZSCORE', P .. 'idx', k)
        and current(P, r[3], r[4]) then
      hit = true
    else
      drop(P, k, r[3], r[4], r[5])
    end
  end
  if hit then
    hits = hits + 1
    out[i - 5] = { r[1], r[2] }
    -- Its tags were just found current: record the tag clock it was checked at, so the
    -- client's fast read serves it again until the next invalidation moves the clock (it
    -- would otherwise come here on every read until rewritten).
    if r[4] and r[4] ~= '' then
      redis.call('HSET', ekey(P, k), 'y', redis.call('HGET', P .. 'g', '*') or '0')
    end
  else
    misses = misses + 1
    out[i - 5] = 0
    if lease ~= '' and redis.call('SET', lkey(P, k), token, 'NX', 'PX', lease) then
      out[i - 5] = 1
    end
  end
end
if count == '1' then
  if hits > 0 then redis.call('HINCRBY', P .. 'n', 'hits', hits) end
  if misses > 0 then redis.call('HINCRBY', P .. 'n', 'misses', misses) end
end
return out
