-- Shares one or more messages, all or nothing. KEYS[1]: P..'agents' (routes the call).
-- ARGV: P, wake channel prefix, max_len, max_age_ms, then 6 per message: mode ('to' | 'kind'
--   | 'all'), target or kind, rank, source, idempotency key ('' none), envelope rest.
-- Returns per message 'ok', id, ms or 'dup', envelope (a key already used, also earlier in
-- the same batch); or {'noagent', id} | {'nokind', kind} and nothing is written.
local P, W = ARGV[1], ARGV[2]
local maxlen, age = retention(P, ARGV[3], ARGV[4])
-- The archive's cursor on the history: while there is one, the history is trimmed by the
-- hold (src/archive/lua/hold.lua) instead of MAXLEN ~ / MINID ~.
local held = redis.call('GET', P .. 'archived:messages')
local n = (#ARGV - 4) / 6
local function arg(i, f) return ARGV[4 + (i - 1) * 6 + f] end
-- Pass 1: every recipient list, so an unknown target fails the batch before any write.
local to = {}
for i = 1, n do
  local mode, who, src, idem = arg(i, 1), arg(i, 2), arg(i, 4), arg(i, 5)
  if idem ~= '' and redis.call('EXISTS', P .. 'idem:' .. idem) == 1 then
    to[i] = false
  elseif mode == 'to' then
    if redis.call('HEXISTS', P .. 'agents', who) == 0 then return { 'noagent', who } end
    to[i] = { who }
  elseif mode == 'kind' then
    local t = redis.call('SMEMBERS', P .. 'kind:' .. who)
    if #t == 0 then return { 'nokind', who } end
    table.sort(t)
    to[i] = t
  else
    local t = {}
    for _, a in ipairs(redis.call('HKEYS', P .. 'agents')) do
      if a ~= src then t[#t + 1] = a end
    end
    table.sort(t)
    to[i] = t
  end
end
-- Pass 2: the writes, with ids reserved for the whole batch; trims and one wake-up per
-- recipient at the end.
local ms, seq = next_ids(P, n)
local minid = fmt(math.max(0, ms - age))
local out, woken, trimmed, written = {}, {}, {}, 0
for i = 1, n do
  local mode, rank, src, idem, rest = arg(i, 1), arg(i, 3), arg(i, 4), arg(i, 5), arg(i, 6)
  local dup = idem ~= '' and redis.call('GET', P .. 'idem:' .. idem)
  if dup then
    out[#out + 1] = 'dup'
    out[#out + 1] = dup
  else
    local id = fmt(ms) .. '-' .. (seq + i - 1)
    local env = envelope(id, ms, rest)
    for _, a in ipairs(to[i]) do
      local k = inbox(P, a, rank)
      redis.call('XADD', k, 'MAXLEN', '~', maxlen, id, 'd', env)
      trimmed[k] = true
      woken[a] = true
    end
    local rcpt
    if mode == 'all' then
      redis.call('XADD', P .. 'bcast', 'MAXLEN', '~', maxlen, id, 'd', env, 's', src, 'r', rank)
      trimmed[P .. 'bcast'] = true
      rcpt = '*'
    else
      rcpt = table.concat(to[i], ',')
    end
    if held then
      redis.call('XADD', P .. 'hist', id, 's', src, 't', rcpt, 'd', env)
    else
      redis.call('XADD', P .. 'hist', 'MAXLEN', '~', maxlen, id, 's', src, 't', rcpt, 'd', env)
    end
    if idem ~= '' then redis.call('SET', P .. 'idem:' .. idem, env, 'PX', fmt(age)) end
    written = written + 1
    out[#out + 1] = 'ok'
    out[#out + 1] = id
    out[#out + 1] = fmt(ms)
  end
end
if written > 0 then
  redis.call('HINCRBY', P .. 'stats', 'total', written)
  if held then
    archive_held_xtrim(P .. 'hist', held, P .. 'archived:messages:lost', maxlen, age, ms)
  else
    trimmed[P .. 'hist'] = true
  end
end
for k in pairs(trimmed) do redis.call('XTRIM', k, 'MINID', '~', minid) end
for a in pairs(woken) do redis.call('PUBLISH', W .. a, '') end
return out
