-- Reads a stream source of the archive (bus history, bus dead letters, the event log) after
-- a cursor `<id>@<pos>` ('' : from the oldest held), oldest first.
-- KEYS[1] the stream. ARGV: cursor, limit.
-- Returns {next, behind, lost, entries (as XRANGE gives them)}.
local k, cur, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
local cid, pc = archive_stream_cursor(cur)
if cur ~= '' and not cid then return redis.error_reply('ERR not an archive cursor: ' .. cur) end
local st = archive_stream(k)
if not st then
  if cid then return { cur, 0, 0, {} } end
  return { '0-0@0', 0, 0, {} }
end
-- Trimming drops entries from the head only, so the oldest held is at position added - len + 1.
local first = st.added - st.len + 1
local start, lost, from = first, 0, '-'
if cid then
  from = '(' .. cid
  if pc > st.added then
    start = first -- the stream began again (cleared): positions started over
  elseif pc + 1 < first then
    lost = first - pc - 1
  else
    start = pc + 1
  end
end
local es = redis.call('XRANGE', k, from, '+', 'COUNT', limit)
local nxt, behind
if #es == 0 then
  if not cid then
    nxt = '0-0@' .. fmt(st.added)
  elseif lost > 0 or pc > st.added then
    nxt = cid .. '@' .. fmt(st.added)
  else
    nxt = cur
  end
  behind = 0
else
  local pos = start + #es - 1
  -- A short read reached the end: the last entry is the newest, at position added (this
  -- also heals positions after deletions in the middle, which XDEL makes in `B dead`).
  if #es < limit then pos = st.added end
  nxt = es[#es][1] .. '@' .. fmt(pos)
  behind = math.min(math.max(0, st.added - pos), st.len)
end
return { nxt, behind, lost, es }
