-- Deletes up to ARGV[3] finished jobs that finished at or before ARGV[2], oldest first, with
-- their idempotency keys. KEYS[1]: any key with the jobs hash tag. ARGV: P, before, most.
-- Returns how many were deleted.
local ids = redis.call('ZRANGEBYSCORE', P .. 'f', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  local k = P .. 'j:' .. id
  local g = redis.call('HMGET', k, 'idem', 'kind', 'status')
  local idem = g[1]
  if g[2] then count_move(g[2], g[3], nil) end
  if idem and redis.call('GET', P .. 'k:' .. idem) == id then
    redis.call('DEL', P .. 'k:' .. idem)
  end
  redis.call('DEL', k)
  redis.call('ZREM', P .. 'f', id)
end
return #ids
