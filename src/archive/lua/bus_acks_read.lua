-- Reads the ack log (`B acked`, message ids scored by ack ms) for the archive after a cursor
-- `<ms>|<member>#<overrun>` ('' : from the oldest held), in (score, member) order, so acks of
-- one millisecond are never skipped. KEYS[1] `B acked`, KEYS[2] its overrun counter.
-- ARGV: cursor, limit. Returns {next, behind, lost, member, ms, member, ms, ...}.
local k, lk, cur, limit = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
local o = tonumber(redis.call('GET', lk) or '0')
local cms, cm, co = archive_zset_cursor(cur)
if cur ~= '' and not cms then return redis.error_reply('ERR not an archive cursor: ' .. cur) end
local start, lost = 0, 0
if cms then
  start = archive_zle(k, cms, cm)
  lost = math.max(0, o - co)
end
local es = redis.call('ZRANGE', k, start, start + limit - 1, 'WITHSCORES')
local n = #es / 2
local out = { '', 0, lost }
for i = 1, #es, 2 do
  out[#out + 1] = es[i]
  out[#out + 1] = fmt(tonumber(es[i + 1]))
end
if n > 0 then
  out[1] = out[#out] .. '|' .. out[#out - 1] .. '#' .. fmt(o)
elseif cms then
  if lost > 0 then out[1] = fmt(cms) .. '|' .. cm .. '#' .. fmt(o) else out[1] = cur end
else
  out[1] = '0|#' .. fmt(o)
end
out[2] = math.max(0, redis.call('ZCARD', k) - start - n)
return out
