-- Commits an archive cursor unless the stored one is further on. KEYS[1] the cursor key.
-- ARGV[1] the cursor, ARGV[2] its kind: 'stream' (`<id>@<pos>`) or 'zset'
-- (`<ms>|<member>#<overrun>`). Returns 1 (stored), 0 (the stored one is further on), -1 (not
-- a cursor of that kind).
local new, kind = ARGV[1], ARGV[2]
local old = redis.call('GET', KEYS[1])
local nid = archive_stream_cursor(new)
if kind == 'stream' then
  if not nid then return -1 end
  local oid = archive_stream_cursor(old)
  if oid and oid ~= nid and archive_min_id(oid, nid) == nid then return 0 end
else
  local nms, nm = archive_zset_cursor(new)
  if not nms then return -1 end
  local oms, om = archive_zset_cursor(old)
  if oms and (oms > nms or (oms == nms and om > nm)) then return 0 end
end
redis.call('SET', KEYS[1], new)
return 1
