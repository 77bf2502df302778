-- Removes expired entries and, page by page from `after`, invalidated ones. KEYS[1]: P..'idx'.
-- ARGV: P, now (ms), after ('' from the start). Returns {removed, next key or ''}.
local P, now, after = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local n = 0
if after == '' then
  repeat
    local m = sweep(P, now, 1000)
    n = n + m
  until m < 1000
end
local lo = '-'
if after ~= '' then lo = '(' .. after end
local page = redis.call('ZRANGEBYLEX', KEYS[1], lo, '+', 'LIMIT', 0, 1000)
for _, k in ipairs(page) do
  local r = redis.call('HMGET', ekey(P, k), 'x', 'g', 's', 'e')
  if not r[3] or (r[4] and tonumber(r[4]) <= now) or not current(P, r[1], r[2]) then
    drop(P, k, r[1], r[2], r[3])
    n = n + 1
  end
end
local nxt = ''
if #page == 1000 then nxt = page[#page] end
return { n, nxt }
