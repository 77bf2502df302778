-- Enqueues jobs in one atomic step; an idempotency key in use returns that job's id instead.
-- KEYS[1]: any key with the namespace's jobs hash tag (routes the call in a cluster).
-- ARGV: P, now, wake channel, n, then per job 11 values: id, kind, payload, priority, run_at,
--   max_attempts, backoff code, backoff base, timeout ('' none), created_at, idempotency key
-- Returns per job '' (new) or the id of the existing job with that key.
local now = tonumber(ARGV[2])
local n = tonumber(ARGV[4])
local out = {}
local pos = 5
local woke = false
-- A namespace with no job yet starts its counts hash complete (see counts.lua).
if redis.call('EXISTS', P .. 'n', P .. 's', P .. 'd', P .. 'x', P .. 'f') == 0 then
  redis.call('HSET', P .. 'n', '~', '1')
end
for i = 1, n do
  local id, kind, payload, prio, run_at, maxa, bk, bb, timeout, created, idem =
    unpack(ARGV, pos, pos + 10)
  pos = pos + 11
  out[i] = ''
  local existing = false
  if idem ~= '' then
    local e = redis.call('GET', P .. 'k:' .. idem)
    if e and redis.call('EXISTS', P .. 'j:' .. e) == 1 then
      out[i] = e
      existing = true
    end
  end
  if not existing then
    local ready = tonumber(run_at) <= now
    local k = P .. 'j:' .. id
    redis.call('HSET', k, 'kind', kind, 'payload', payload, 'priority', prio, 'status', 'pending',
      'q', ready and 'r' or 'd', 'attempts', '0', 'max_attempts', maxa, 'bk', bk, 'bb', bb,
      'run_at', run_at, 'created_at', created)
    if timeout ~= '' then redis.call('HSET', k, 'timeout', timeout) end
    if idem ~= '' then
      redis.call('HSET', k, 'idem', idem)
      redis.call('SET', P .. 'k:' .. idem, id)
    end
    if ready then
      redis.call('ZADD', P .. 'r:' .. kind, score(prio, redis.call('INCR', P .. 's')), id)
      woke = true
      count_move(kind, nil, 'ready')
    else
      redis.call('ZADD', P .. 'd', run_at, id)
      count_move(kind, nil, 'delayed')
    end
  end
end
if woke then redis.call('PUBLISH', ARGV[3], '') end
return out
