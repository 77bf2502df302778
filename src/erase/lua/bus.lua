-- Erases a subject from the bus. KEYS[1]: P..'agents' (routing). ARGV: P, subject, then the
-- idempotency keys (full names) found by a SCAN of P..'idem:*'.
-- A message is erased when its source is the subject or the subject is one of its named
-- recipients (not a broadcast's "*"): from the history, every inbox (XACK in the agent's group
-- first, so no pending entry is left), the broadcast log, the dead letters, the ack log and the
-- idempotency entries whose envelope is one of them. The subject's own inboxes, its dead
-- letters, its consumer group and its registration go too.
-- Returns how many distinct messages went (a copy of someone else's broadcast in the subject's
-- inbox or dead letters goes without counting: the message stays for the others).
local P, S = ARGV[1], ARGV[2]
local ids, n = {}, 0
local function mark(id)
  if not ids[id] then
    ids[id] = true
    n = n + 1
  end
end
local function named(list, x)
  if list == nil or list == '*' then return false end
  for y in string.gmatch(list, '[^,]+') do
    if y == x then return true end
  end
  return false
end
local function source(env)
  local ok, v = pcall(cjson.decode, env)
  if ok and type(v) == 'table' then return v.source, v.target, v.id end
  return nil
end
-- Every entry of a stream, in pages.
local function each(key, f)
  local last = '-'
  while true do
    local es = redis.call('XRANGE', key, last, '+', 'COUNT', 512)
    for _, e in ipairs(es) do f(e[1], fields(e[2])) end
    if #es < 512 then break end
    last = '(' .. es[#es][1]
  end
end
-- Pass 1: which messages.
each(P .. 'hist', function(id, f)
  if f.s == S or named(f.t, S) then mark(id) end
end)
each(P .. 'bcast', function(id, f)
  if f.s == S then mark(id) end
end)
local agents = redis.call('HKEYS', P .. 'agents')
for _, a in ipairs(agents) do
  for r = 0, 3 do
    each(inbox(P, a, r), function(id, f)
      local src, tgt = source(f.d)
      -- A copy in the subject's own inbox goes with the inbox; a broadcast by someone else
      -- stays for the others.
      if src == S or tgt == S then mark(id) end
    end)
  end
end
local dead = {}
each(P .. 'dead', function(eid, f)
  local src, tgt = source(f.d)
  if src == S or tgt == S or ids[f.id] then
    mark(f.id)
    dead[#dead + 1] = eid
  elseif f.a == S then
    dead[#dead + 1] = eid
  end
end)
-- Pass 2: the writes.
for _, a in ipairs(agents) do
  local grp = redis.call('HGET', P .. 'groups', a)
  for r = 0, 3 do
    local k = inbox(P, a, r)
    if a == S then
      redis.call('DEL', k)
    else
      local gone = {}
      each(k, function(id, _) if ids[id] then gone[#gone + 1] = id end end)
      for i = 1, #gone, 256 do
        local part = { unpack(gone, i, math.min(i + 255, #gone)) }
        if grp then redis.call('XACK', k, grp, unpack(part)) end
        redis.call('XDEL', k, unpack(part))
      end
    end
  end
end
for _, key in ipairs({ 'hist', 'bcast' }) do
  local gone = {}
  each(P .. key, function(id, _) if ids[id] then gone[#gone + 1] = id end end)
  for i = 1, #gone, 256 do
    redis.call('XDEL', P .. key, unpack(gone, i, math.min(i + 255, #gone)))
  end
end
for i = 1, #dead, 256 do
  redis.call('XDEL', P .. 'dead', unpack(dead, i, math.min(i + 255, #dead)))
end
local acked = {}
for id in pairs(ids) do acked[#acked + 1] = id end
for i = 1, #acked, 256 do
  redis.call('ZREM', P .. 'acked', unpack(acked, i, math.min(i + 255, #acked)))
end
for i = 3, #ARGV do
  local env = redis.call('GET', ARGV[i])
  if env then
    local src, tgt, id = source(env)
    if src == S or tgt == S or (id and ids[id]) then redis.call('DEL', ARGV[i]) end
  end
end
local kinds = redis.call('HGET', P .. 'agents', S)
if kinds then
  for k in string.gmatch(kinds, '[^\n]+') do redis.call('SREM', P .. 'kind:' .. k, S) end
  redis.call('HDEL', P .. 'agents', S)
end
redis.call('HDEL', P .. 'groups', S)
return n
