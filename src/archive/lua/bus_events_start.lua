-- The start cursor of a bus or events source (src/archive/sources/held.rs): the stored one,
-- else a cursor just before the oldest entry the store holds, committed, so that retention
-- holds every entry held now (up to the bound) before the archive's first batch.
-- KEYS[1] the cursor key, KEYS[2] the source's data (a stream, or the ack log), KEYS[3] its
-- overrun counter. ARGV[1] 'stream' or 'zset'. Returns the cursor.
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
if ARGV[1] == 'stream' then
  local st = archive_stream(KEYS[2])
  local pos = 0
  if st then pos = math.max(0, st.added - st.len) end
  cur = '0-0@' .. fmt(pos)
else
  cur = '0|#' .. fmt(tonumber(redis.call('GET', KEYS[3]) or '0'))
end
redis.call('SET', KEYS[1], cur)
return cur
