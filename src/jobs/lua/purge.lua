-- Deletes up to ARGV[3] finished jobs that finished at
-- or before ARGV[2], oldest first, with their idempotency keys; a job after the archive
-- cursor (not archived yet) is kept unless more than ARGV[4] finished jobs wait for the
-- archive: then the oldest of them go and are counted in the overrun counter.
-- KEYS[1]: any key with the jobs hash tag. ARGV: P, before, most, bound.
-- Returns how many were deleted.
local cur = redis.call('GET', P .. 'archived:jobs')
local cs, ctext, cid = nil, nil, ''
if cur then
  ctext, cid = string.match(cur, '^([^|]*)|(.*)$')
  cs = tonumber(ctext)
end
local waiting = 0
if cs then
  waiting = redis.call('ZCOUNT', P .. 'f', '(' .. ctext, '+inf')
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'f', ctext, ctext)) do
    if bytegt(id, cid) then waiting = waiting + 1 end
  end
end
local spare = waiting - tonumber(ARGV[4])
local lost = 0
local ids = redis.call('ZRANGEBYSCORE', P .. 'f', '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0,
  tonumber(ARGV[3]))
local n = 0
for i = 1, #ids, 2 do
  local id, s = ids[i], tonumber(ids[i + 1])
  local archived = (not cs) or s < cs or (s == cs and not bytegt(id, cid))
  if not archived then
    if spare <= 0 then break end
    spare = spare - 1
    lost = lost + 1
  end
  local k = P .. 'j:' .. id
  local g = redis.call('HMGET', k, 'idem', 'kind', 'status')
  local idem = g[1]
  if g[2] then count_move(g[2], g[3], nil) end
  if idem and redis.call('GET', P .. 'k:' .. idem) == id then
    redis.call('DEL', P .. 'k:' .. idem)
  end
  redis.call('DEL', k)
  redis.call('ZREM', P .. 'f', id)
  n = n + 1
end
if lost > 0 then redis.call('INCRBY', P .. 'archived:jobs:lost', lost) end
return n
