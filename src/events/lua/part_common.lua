-- Shared by the scripts of a partitioned log (n > 1, docs/scaling.md "## Events"). KEYS[1] is
-- one partition's log stream. Ids stay `<ms>-<seq>` and unique across the namespace:
-- seq = (µs within the ms * F + counter) * n + partition, so two partitions never share an
-- id, an event published after another (one client, one clock) gets the larger id, and a
-- reader can tell that no later publish on this partition will take an id below
-- (ms of TIME, µs * F * n) (src/events/part.rs, the merge's watermark).
local F = 1000000
-- The newest id this stream handed out, as (ms, seq) numbers; nil for a new log.
local function part_last()
  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  local id
  if #top > 0 then
    id = top[1][1]
  elseif redis.call('EXISTS', KEYS[1]) == 1 then
    -- Every entry aged out: the stream still knows its last id.
    local info = redis.call('XINFO', 'STREAM', KEYS[1])
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then id = info[i + 1] end
    end
  end
  if not id then return nil end
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
-- The ids of the next `count` events of partition p among n, in order.
local function part_ids(p, n, count)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local k0 = (tonumber(t[2]) % 1000) * F
  local lms, lseq = part_last()
  local ms, k
  if not lms or now > lms then
    ms, k = now, k0
  else
    ms, k = lms, math.floor(lseq / n) + 1
    if now == lms and k0 > k then k = k0 end
  end
  local ids = {}
  for i = 1, count do
    ids[i] = string.format('%.0f-%.0f', ms, k * n + p)
    k = k + 1
  end
  return ids
end
-- Appends one event with id `id` to the partition, trimmed to max_len (and age ms).
local function part_add(id, max_len, age, channel, data)
  redis.call('XADD', KEYS[1], 'MAXLEN', '=', max_len, id, 'c', channel, 'd', data)
  if age then
    local ms = tonumber(string.match(id, '^(%d+)-'))
    redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f', ms - age))
  end
end
