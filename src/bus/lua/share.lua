-- Shares one message. KEYS[1]: P..'agents' (routes the call).
-- ARGV: P, wake channel prefix, mode ('to' | 'kind' | 'all'), target or kind, rank, source,
--   idempotency key ('' none), envelope rest, max_len, max_age_ms.
-- Returns {'ok', id, ms} | {'dup', envelope} | {'noagent', id} | {'nokind', kind}; nothing is
-- written unless 'ok'.
local P, W, mode, who, rank, src, idem, rest = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local maxlen, age = ARGV[9], tonumber(ARGV[10])
if idem ~= '' then
  local v = redis.call('GET', P .. 'idem:' .. idem)
  if v then return { 'dup', v } end
end
local to = {}
if mode == 'to' then
  if redis.call('HEXISTS', P .. 'agents', who) == 0 then return { 'noagent', who } end
  to[1] = who
elseif mode == 'kind' then
  to = redis.call('SMEMBERS', P .. 'kind:' .. who)
  if #to == 0 then return { 'nokind', who } end
  table.sort(to)
else
  for _, a in ipairs(redis.call('HKEYS', P .. 'agents')) do
    if a ~= src then to[#to + 1] = a end
  end
  table.sort(to)
end
local id, ms = next_id(P)
local env = envelope(id, ms, rest)
local minid = fmt(math.max(0, ms - age))
for _, a in ipairs(to) do
  local k = inbox(P, a, rank)
  redis.call('XADD', k, 'MAXLEN', '~', maxlen, id, 'd', env)
  redis.call('XTRIM', k, 'MINID', '~', minid)
  redis.call('PUBLISH', W .. a, '')
end
local rcpt
if mode == 'all' then
  redis.call('XADD', P .. 'bcast', 'MAXLEN', '~', maxlen, id, 'd', env, 's', src, 'r', rank)
  redis.call('XTRIM', P .. 'bcast', 'MINID', '~', minid)
  rcpt = '*'
else
  rcpt = table.concat(to, ',')
end
redis.call('XADD', P .. 'hist', 'MAXLEN', '~', maxlen, id, 's', src, 't', rcpt, 'd', env)
redis.call('XTRIM', P .. 'hist', 'MINID', '~', minid)
redis.call('HINCRBY', P .. 'stats', 'total', 1)
if idem ~= '' then redis.call('SET', P .. 'idem:' .. idem, env, 'PX', fmt(age)) end
return { 'ok', id, fmt(ms) }
