-- Hands messages of an agent to one consumer of its group: per priority (most urgent first),
-- deliveries idle longer than idle_ms (claimed with XCLAIM, or moved to the dead letters once
-- handed out max_deliveries times), then new ones (XREADGROUP, no BLOCK).
-- KEYS[1]: P..'agents'. ARGV: P, agent, group, consumer, count, idle_ms, max_deliveries,
--   max_len, max_age_ms.
-- Returns {'ok', envelope, deliveries, ...} | {'noagent'} | {'othergroup', group}.
local P, a, g, c = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local count, idle, maxd = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local maxlen, age = retention(P, ARGV[8], ARGV[9])
if redis.call('HEXISTS', P .. 'agents', a) == 0 then return { 'noagent' } end
local grp = redis.call('HGET', P .. 'groups', a)
if not grp then
  for r = 0, 3 do redis.pcall('XGROUP', 'CREATE', inbox(P, a, r), g, '0', 'MKSTREAM') end
  redis.call('HSET', P .. 'groups', a, g)
elseif grp ~= g then
  return { 'othergroup', grp }
end
local out = { 'ok' }
local got = 0
local died = false
local held = nil -- the archive's cursor on the dead letters (read at the first death)
for r = 0, 3 do
  local k = inbox(P, a, r)
  if got < count then
    for _, p in ipairs(redis.call('XPENDING', k, g, 'IDLE', idle, '-', '+', count - got)) do
      local id, holder, n = p[1], p[2], tonumber(p[4])
      if n >= maxd then
        local e = redis.call('XRANGE', k, id, id)
        if #e > 0 then
          if not died then held = redis.call('GET', P .. 'archived:dead_letters') end
          local args = { P .. 'dead', 'MAXLEN', '~', maxlen }
          if held then args = { P .. 'dead' } end
          for _, v in ipairs({ '*', 'id', id, 'a', a, 'g', g, 'c', holder, 'n', n, 'r', r, 'why',
            'handed out ' .. n .. ' times without an ack (max_deliveries=' .. maxd ..
            '); last consumer ' .. holder, 'd', e[1][2][2] }) do
            args[#args + 1] = v
          end
          redis.call('XADD', unpack(args))
          died = true
        end
        redis.call('XACK', k, g, id)
        redis.call('XDEL', k, id)
      else
        local cl = redis.call('XCLAIM', k, g, c, idle, id)
        local e = cl[1]
        if type(e) == 'table' and type(e[2]) == 'table' then
          got = got + 1
          out[#out + 1] = e[2][2]
          out[#out + 1] = n + 1
        else
          -- Dropped by retention while it was out: forget the delivery.
          redis.call('XACK', k, g, id)
        end
      end
    end
  end
  if got < count then
    local rd = redis.call('XREADGROUP', 'GROUP', g, c, 'COUNT', count - got, 'STREAMS', k, '>')
    if rd then
      for _, e in ipairs(rd[1][2]) do
        got = got + 1
        out[#out + 1] = e[2][2]
        out[#out + 1] = 1
      end
    end
  end
end
if died and held then
  archive_held_xtrim(P .. 'dead', held, P .. 'archived:dead_letters:lost', maxlen, age, now_ms())
elseif died then
  redis.call('XTRIM', P .. 'dead', 'MINID', '~', fmt(math.max(0, now_ms() - age)))
end
return out
