-- Cancels a job that has not finished.
-- KEYS[1]: any key with the jobs hash tag. ARGV: P, now, id.
-- Returns 'ok', 'done' (already finished) or 'missing'.
local id = ARGV[3]
local k = P .. 'j:' .. id
local f = redis.call('HMGET', k, 'q', 'kind')
if not f[1] then return 'missing' end
if f[1] == '' then return 'done' end
if f[1] == 'r' then
  redis.call('ZREM', P .. 'r:' .. f[2], id)
elseif f[1] == 'd' then
  redis.call('ZREM', P .. 'd', id)
else
  redis.call('ZREM', P .. 'x', id)
end
count_move(f[2], ({ r = 'ready', d = 'delayed', x = 'running' })[f[1]], 'cancelled')
redis.call('HSET', k, 'status', 'cancelled', 'q', '', 'finished_at', ARGV[2], 'token', '')
redis.call('ZADD', P .. 'f', ARGV[2], id)
return 'ok'
