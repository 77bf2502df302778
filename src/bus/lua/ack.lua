-- Acknowledges messages of an agent: XACK (if it has a group) + XDEL, recorded in the ack log.
-- KEYS[1]: P..'agents'. ARGV: P, agent, group ('' simple mode), consumer, max_len,
--   max_age_ms, ids...
-- Every id is checked before the first write. Returns {'ok', n} | {'noagent'} |
-- {'othergroup', group} | {'missing', id} | {'notheld', id, holder ('' none)}.
local P, a, g, c = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local maxlen, age = tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('HEXISTS', P .. 'agents', a) == 0 then return { 'noagent' } end
local grp = redis.call('HGET', P .. 'groups', a)
if g ~= '' and grp ~= g then return { 'othergroup', grp or '' } end
local found = {}
for i = 7, #ARGV do
  local id = ARGV[i]
  local rk = nil
  for r = 0, 3 do
    if #redis.call('XRANGE', inbox(P, a, r), id, id) > 0 then
      rk = r
      break
    end
  end
  if rk == nil then
    if not redis.call('ZSCORE', P .. 'acked', id) then return { 'missing', id } end
  else
    if g ~= '' then
      local pe = redis.call('XPENDING', inbox(P, a, rk), g, id, id, 1)
      if #pe == 0 then return { 'notheld', id, '' } end
      if pe[1][2] ~= c then return { 'notheld', id, pe[1][2] } end
    end
    found[#found + 1] = { id, rk }
  end
end
if #found == 0 then return { 'ok', 0 } end
local ms = now_ms()
for _, f in ipairs(found) do
  local k = inbox(P, a, f[2])
  if grp then redis.call('XACK', k, grp, f[1]) end
  redis.call('XDEL', k, f[1])
  redis.call('ZADD', P .. 'acked', fmt(ms), f[1])
end
redis.call('HINCRBY', P .. 'stats', 'acked', #found)
redis.call('ZREMRANGEBYSCORE', P .. 'acked', '-inf', '(' .. fmt(ms - age))
local extra = redis.call('ZCARD', P .. 'acked') - maxlen
if extra > 0 then redis.call('ZREMRANGEBYRANK', P .. 'acked', 0, extra - 1) end
return { 'ok', #found }
