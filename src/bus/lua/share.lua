-- Shares one or more messages, all or nothing. KEYS[1]: P..'agents' (routes the call).
-- ARGV: P, wake channel prefix, max_len, max_age_ms, step, part, floor ms, floor seq, role,
--   then 7 per message: mode ('to' | 'kind' | 'all' | 'none'), target or kind, rank, source,
--   idempotency key ('' none), envelope rest, id ('' this script gives it).
-- step, part: the namespace's partition count and this partition's number (1, 0 without
-- partitions); floor: an id the ids given must exceed ('0', '0': none). role: 's' the whole
-- share is this script (unknown targets and kinds fail it), 'h' the home partition of a
-- share spread over partitions (it gives the ids; kinds may have no agent here), 'o' another
-- partition of it: messages come with the id the home gave, stored under a local stream id
-- (the alias `alias:<id>` leads from one to the other).
-- Mode 'none': the message only takes an id here (it is written in another partition).
-- Returns per message 'ok', id, ms or 'dup', envelope (a key already used, also earlier in
-- the same batch); or {'noagent', id} | {'nokind', kind} and nothing is written.
local P, W = ARGV[1], ARGV[2]
local maxlen, age = retention(P, ARGV[3], ARGV[4])
local step, part = tonumber(ARGV[5]), tonumber(ARGV[6])
local fms, fseq = tonumber(ARGV[7]), tonumber(ARGV[8])
local role = ARGV[9]
local home = role ~= 'o'
local H = 9
-- The archive's cursor on the history: while there is one, the history is trimmed by the
-- hold (src/archive/lua/hold.lua) instead of MAXLEN ~ / MINID ~.
local held = redis.call('GET', P .. 'archived:messages')
local n = (#ARGV - H) / 7
local function arg(i, f) return ARGV[H + (i - 1) * 7 + f] end
-- Pass 1: every recipient list, so an unknown target fails the batch before any write.
local to = {}
for i = 1, n do
  local mode, who, src, idem = arg(i, 1), arg(i, 2), arg(i, 4), arg(i, 5)
  if idem ~= '' and mode ~= 'none' and redis.call('EXISTS', P .. 'idem:' .. idem) == 1 then
    to[i] = false
  elseif mode == 'to' then
    if redis.call('HEXISTS', P .. 'agents', who) == 0 then return { 'noagent', who } end
    to[i] = { who }
  elseif mode == 'kind' then
    local t = redis.call('SMEMBERS', P .. 'kind:' .. who)
    if #t == 0 and role == 's' then return { 'nokind', who } end
    table.sort(t)
    to[i] = t
  elseif mode == 'all' then
    local t = {}
    for _, a in ipairs(redis.call('HKEYS', P .. 'agents')) do
      if a ~= src then t[#t + 1] = a end
    end
    table.sort(t)
    to[i] = t
  else
    to[i] = {}
  end
end
-- Pass 2: the writes, with ids reserved for the whole batch; trims and one wake-up per
-- recipient at the end.
local ms, seq = next_ids(P, n, step, part, fms, fseq)
local minid = fmt(math.max(0, ms - age))
local out, woken, trimmed, written = {}, {}, {}, 0
for i = 1, n do
  local mode, rank, src, idem, rest = arg(i, 1), arg(i, 3), arg(i, 4), arg(i, 5), arg(i, 6)
  local dup = idem ~= '' and mode ~= 'none' and redis.call('GET', P .. 'idem:' .. idem)
  if dup then
    out[#out + 1] = 'dup'
    out[#out + 1] = dup
  else
    local sid = fmt(ms) .. '-' .. seq_of(seq, i, step, part)
    local id, tms = sid, ms
    if arg(i, 7) ~= '' then
      id = arg(i, 7)
      tms = tonumber(string.match(id, '^(%d+)-'))
    end
    local env = envelope(id, tms, rest)
    for _, a in ipairs(to[i]) do
      local k = inbox(P, a, rank)
      redis.call('XADD', k, 'MAXLEN', '~', maxlen, sid, 'd', env)
      trimmed[k] = true
      woken[a] = true
    end
    if sid ~= id and (#to[i] > 0 or mode == 'all') then
      redis.call('SET', P .. 'alias:' .. id, sid, 'PX', fmt(age))
    end
    local rcpt
    if mode == 'all' then
      redis.call('XADD', P .. 'bcast', 'MAXLEN', '~', maxlen, sid, 'd', env, 's', src, 'r', rank)
      trimmed[P .. 'bcast'] = true
      rcpt = '*'
    else
      rcpt = table.concat(to[i], ',')
    end
    -- The history has each message once per partition it reached (a broadcast: at home).
    if (mode == 'all' and home) or ((mode == 'to' or mode == 'kind') and #to[i] > 0) then
      if held then
        redis.call('XADD', P .. 'hist', sid, 's', src, 't', rcpt, 'd', env)
      else
        redis.call('XADD', P .. 'hist', 'MAXLEN', '~', maxlen, sid, 's', src, 't', rcpt, 'd', env)
      end
      trimmed[P .. 'hist'] = true
    end
    if idem ~= '' and mode ~= 'none' then
      redis.call('SET', P .. 'idem:' .. idem, env, 'PX', fmt(age))
    end
    -- Counted once: where a direct message lands, at home for one spread by kind or to all.
    if mode == 'to' or (home and mode ~= 'none') then written = written + 1 end
    out[#out + 1] = 'ok'
    out[#out + 1] = id
    out[#out + 1] = fmt(tms)
  end
end
if written > 0 then redis.call('HINCRBY', P .. 'stats', 'total', written) end
if trimmed[P .. 'hist'] and held then
  trimmed[P .. 'hist'] = nil
  archive_held_xtrim(P .. 'hist', held, P .. 'archived:messages:lost', maxlen, age, ms)
end
for k in pairs(trimmed) do redis.call('XTRIM', k, 'MINID', '~', minid) end
for a in pairs(woken) do redis.call('PUBLISH', W .. a, '') end
return out
