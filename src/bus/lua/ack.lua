-- Acknowledges messages of an agent: XACK (if it has a group) + XDEL, recorded in the ack log.
-- KEYS[1]: P..'agents'. ARGV: P, agent, group ('' simple mode), consumer, max_len,
--   max_age_ms, aliased ('1' with partitions: ids may have a local stream id), ids...
-- Every id is checked before the first write. Returns {'ok', n} | {'noagent'} |
-- {'othergroup', group} | {'missing', id} | {'notheld', id, holder ('' none)}.
local P, a, g, c = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local maxlen, age = retention(P, ARGV[5], ARGV[6])
local aliased = ARGV[7]
if redis.call('HEXISTS', P .. 'agents', a) == 0 then return { 'noagent' } end
local grp = redis.call('HGET', P .. 'groups', a)
if g ~= '' and grp ~= g then return { 'othergroup', grp or '' } end
local found = {}
-- Ids of one batch mostly share a priority: look where the previous id was first, and in
-- group mode let the pending entry (which also names the holder) answer in one call.
local guess = 2
for i = 8, #ARGV do
  local mid = ARGV[i]
  local id = stream_id(P, mid, aliased)
  local rk = nil
  if g ~= '' then
    local pe = redis.call('XPENDING', inbox(P, a, guess), g, id, id, 1)
    if #pe > 0 then
      if pe[1][2] ~= c then return { 'notheld', mid, pe[1][2] } end
      rk = guess
    end
  end
  if rk == nil then
    for j, r in ipairs({ guess, 0, 1, 2, 3 }) do
      if (j == 1 or r ~= guess) and #redis.call('XRANGE', inbox(P, a, r), id, id) > 0 then
        rk = r
        break
      end
    end
    if rk == nil then
      if not redis.call('ZSCORE', P .. 'acked', mid) then return { 'missing', mid } end
    elseif g ~= '' then
      local pe = redis.call('XPENDING', inbox(P, a, rk), g, id, id, 1)
      if #pe == 0 then return { 'notheld', mid, '' } end
      if pe[1][2] ~= c then return { 'notheld', mid, pe[1][2] } end
    end
  end
  if rk ~= nil then
    found[#found + 1] = { id, rk, mid }
    guess = rk
  end
end
if #found == 0 then return { 'ok', 0 } end
local ms = now_ms()
-- One XACK, XDEL and ZADD per stream and chunk of ids rather than per id.
local by_rank, mids = { {}, {}, {}, {} }, { {}, {}, {}, {} }
for _, f in ipairs(found) do
  local ids, ms_ = by_rank[f[2] + 1], mids[f[2] + 1]
  ids[#ids + 1] = f[1]
  ms_[#ms_ + 1] = f[3]
end
for r = 0, 3 do
  local ids, k = by_rank[r + 1], inbox(P, a, r)
  for s = 1, #ids, 500 do
    local part = { unpack(ids, s, math.min(#ids, s + 499)) }
    if grp then redis.call('XACK', k, grp, unpack(part)) end
    redis.call('XDEL', k, unpack(part))
    local scored = {}
    for j = s, math.min(#ids, s + 499) do
      scored[#scored + 1] = fmt(ms)
      scored[#scored + 1] = mids[r + 1][j]
    end
    redis.call('ZADD', P .. 'acked', unpack(scored))
  end
end
redis.call('HINCRBY', P .. 'stats', 'acked', #found)
local held = redis.call('GET', P .. 'archived:acks')
if held then
  archive_held_ztrim(P .. 'acked', held, P .. 'archived:acks:lost', maxlen, age, ms)
else
  redis.call('ZREMRANGEBYSCORE', P .. 'acked', '-inf', '(' .. fmt(ms - age))
  local extra = redis.call('ZCARD', P .. 'acked') - maxlen
  if extra > 0 then redis.call('ZREMRANGEBYRANK', P .. 'acked', 0, extra - 1) end
end
return { 'ok', #found }
