-- Completes or fails claimed attempts; an attempt whose token no longer matches (reclaimed,
-- cancelled, finished) is left alone and reported 'stale'.
-- KEYS[1]: any key with the jobs hash tag.
-- ARGV: P, now, wake channel, n, then per item: id, token, how ('d' done, 'f' failed and may
--   retry, 'x' failed for good), result JSON or error text.
-- Returns per item 'ok', 'stale' or 'missing'.
local now = tonumber(ARGV[2])
local n = tonumber(ARGV[4])
local out = {}
local retried = false
for i = 1, n do
  local pos = 5 + (i - 1) * 4
  local id, token, how, v = ARGV[pos], ARGV[pos + 1], ARGV[pos + 2], ARGV[pos + 3]
  local k = P .. 'j:' .. id
  local f = redis.call('HMGET', k, 'q', 'token', 'kind')
  if not f[1] then
    out[i] = 'missing'
  elseif f[1] ~= 'x' or f[2] ~= token then
    out[i] = 'stale'
  else
    if how == 'd' then
      redis.call('HSET', k, 'status', 'succeeded', 'q', '', 'result', v, 'finished_at', ARGV[2],
        'token', '')
      redis.call('ZREM', P .. 'x', id)
      redis.call('ZADD', P .. 'f', ARGV[2], id)
      count_move(f[3], 'running', 'succeeded')
    elseif fail_job(id, v, how == 'f', now) then
      retried = true
    end
    out[i] = 'ok'
  end
end
if retried then redis.call('PUBLISH', ARGV[3], '') end
return out
