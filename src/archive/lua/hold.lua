-- Archive cursors and retention holds (docs/archive.md, "Retention holds: bus and events"),
-- put in front of the bus and events scripts that trim, and of the archive's own scripts.
-- A stream source's cursor is `<id>@<pos>`: the id of the last entry archived and its
-- position in the stream (XINFO's entries-added when it was appended), so that how many
-- entries follow it is entries-added - pos, without a scan. The ack log's cursor is
-- `<ms>|<member>#<overrun>`: the last (score, member) archived and the source's overrun
-- counter when it was read.
local ARCHIVE_HOLD = 10
-- Stream facts {len, added} (nil: no stream).
local function archive_stream(k)
  if redis.call('EXISTS', k) == 0 then return nil end
  local raw = redis.call('XINFO', 'STREAM', k)
  local len, added = 0, 0
  for i = 1, #raw, 2 do
    if raw[i] == 'length' then len = tonumber(raw[i + 1]) end
    if raw[i] == 'entries-added' then added = tonumber(raw[i + 1]) end
  end
  return { len = len, added = added }
end
-- `<id>@<pos>` -> id, pos (nil for anything else).
local function archive_stream_cursor(c)
  if not c then return nil end
  local id, pos = string.match(c, '^([0-9]+%-[0-9]+)@([0-9]+)$')
  if not id then return nil end
  return id, tonumber(pos)
end
-- The smallest stream id above `id`.
local function archive_succ(id)
  local ms, seq = string.match(id, '^([0-9]+)%-([0-9]+)$')
  return ms .. '-' .. fmt(tonumber(seq) + 1)
end
-- The smaller of two stream ids.
local function archive_min_id(a, b)
  local am, as = string.match(a, '^([0-9]+)%-([0-9]+)$')
  local bm, bs = string.match(b, '^([0-9]+)%-([0-9]+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  if am < bm or (am == bm and as <= bs) then return a end
  return b
end
-- Trims stream `k` as retention says (`max_len` entries, nil: no length limit; entries of
-- at least `age` ms old go, nil: no age limit) while the archive cursor `cur` (the text at
-- the cursor key) holds entries after it: those go only past the bound (ARCHIVE_HOLD times
-- the limits), and what goes then is added to the counter at `lk`. Returns entries dropped.
local function archive_held_xtrim(k, cur, lk, max_len, age, now)
  local st = archive_stream(k)
  if not st then return 0 end
  local cid, pc = archive_stream_cursor(cur)
  if not cid then
    -- Not a stream cursor (never committed by the archive): plain retention.
    local n = 0
    if max_len then n = redis.call('XTRIM', k, 'MAXLEN', '=', max_len) end
    if age then n = n + redis.call('XTRIM', k, 'MINID', fmt(math.max(0, now - age)) .. '-0') end
    return n
  end
  local len = st.len
  local after = st.added - pc
  if after > len or after < 0 then after = len end
  local before = len - after
  local dropped, over = 0, 0
  if max_len then
    local over_len = after - ARCHIVE_HOLD * max_len
    if over_len > 0 then
      -- The bound: everything up to the cursor goes, and the oldest entries after it.
      dropped = redis.call('XTRIM', k, 'MAXLEN', '=', ARCHIVE_HOLD * max_len)
      over = over_len
      before = 0
    else
      local drop = math.min(math.max(0, len - max_len), before)
      if drop > 0 then
        local n = redis.call('XTRIM', k, 'MAXLEN', '=', len - drop)
        dropped = dropped + n
        before = before - n
      end
    end
  end
  if age then
    if before > 0 then
      local n = redis.call('XTRIM', k, 'MINID', archive_min_id(fmt(math.max(0, now - age)) .. '-0', archive_succ(cid)))
      dropped = dropped + n
    end
    -- Entries up to the cursor that are left are younger than `age`: only entries after the
    -- cursor are older than the bound.
    local n = redis.call('XTRIM', k, 'MINID', fmt(math.max(0, now - ARCHIVE_HOLD * age)) .. '-0')
    dropped = dropped + n
    over = over + n
  end
  if over > 0 then redis.call('INCRBY', lk, over) end
  return dropped
end
-- Drops entries of stream `k` below `minid` that are at or before the cursor `cur`
-- (cleanup by age: entries not archived stay). Returns how many went.
local function archive_held_minid(k, cur, minid)
  local cid = archive_stream_cursor(cur)
  if not cid then return redis.call('XTRIM', k, 'MINID', minid) end
  return redis.call('XTRIM', k, 'MINID', archive_min_id(minid, archive_succ(cid)))
end
-- `<ms>|<member>#<overrun>` -> ms, member, overrun (nil for anything else).
local function archive_zset_cursor(c)
  if not c then return nil end
  local ms, m, o = string.match(c, '^([0-9]+)|(.*)#([0-9]+)$')
  if not ms then return nil end
  return tonumber(ms), m, tonumber(o)
end
-- Members of sorted set `k` at or before (ms, member) in (score, member) order.
local function archive_zle(k, ms, member)
  local r = redis.call('ZRANK', k, member)
  if r and tonumber(redis.call('ZSCORE', k, member)) == ms then return r + 1 end
  local lo = redis.call('ZCOUNT', k, '-inf', '(' .. fmt(ms))
  local hi = lo + redis.call('ZCOUNT', k, fmt(ms), fmt(ms))
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local m = redis.call('ZRANGE', k, mid, mid)[1]
    if m <= member then lo = mid + 1 else hi = mid end
  end
  return lo
end
-- The ack log's trimming (scores are ms): at most `max_len` members, none older than `age`
-- ms, holding those after the cursor `cur` up to ARCHIVE_HOLD times both limits; what goes
-- past the bound is added to the counter at `lk`. Returns members dropped.
local function archive_held_ztrim(k, cur, lk, max_len, age, now)
  local cms, cm = archive_zset_cursor(cur)
  if not cms then
    -- Not an acks cursor: plain retention.
    local n = redis.call('ZREMRANGEBYSCORE', k, '-inf', '(' .. fmt(now - age))
    local extra = redis.call('ZCARD', k) - max_len
    if extra > 0 then n = n + redis.call('ZREMRANGEBYRANK', k, 0, extra - 1) end
    return n
  end
  local card = redis.call('ZCARD', k)
  local before = archive_zle(k, cms, cm)
  local after = card - before
  local old = redis.call('ZCOUNT', k, '-inf', '(' .. fmt(now - age))
  local drop = math.min(math.max(old, card - max_len, 0), before)
  local over_age = redis.call('ZCOUNT', k, '-inf', '(' .. fmt(now - ARCHIVE_HOLD * age)) - before
  local over = math.max(after - ARCHIVE_HOLD * max_len, over_age, 0)
  if over > 0 then drop = before end
  if drop + over > 0 then redis.call('ZREMRANGEBYRANK', k, 0, drop + over - 1) end
  if over > 0 then redis.call('INCRBY', lk, over) end
  return drop + over
end
-- Drops members of `k` scored below `cut` at or before the cursor `cur`. Returns how many.
local function archive_held_zcut(k, cur, cut)
  local cms, cm = archive_zset_cursor(cur)
  if not cms then return redis.call('ZREMRANGEBYSCORE', k, '-inf', '(' .. fmt(cut)) end
  local n = math.min(redis.call('ZCOUNT', k, '-inf', '(' .. fmt(cut)), archive_zle(k, cms, cm))
  if n > 0 then redis.call('ZREMRANGEBYRANK', k, 0, n - 1) end
  return n
end
