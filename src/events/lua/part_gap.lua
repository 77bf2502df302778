-- Whether one partition of a partitioned log may have lost events after a position: its
-- oldest entry ('' when none), whether it holds the position itself (1/0), and whether it
-- ever dropped an entry (1/0: more entries added than it holds).
-- KEYS[1] the partition's log stream; ARGV[1] the position (an id)
if redis.call('EXISTS', KEYS[1]) == 0 then return {'', 0, 0} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local len, added, first = 0, 0, ''
for i = 1, #info, 2 do
  local k = info[i]
  if k == 'length' then
    len = info[i + 1]
  elseif k == 'entries-added' then
    added = info[i + 1]
  elseif k == 'first-entry' and info[i + 1] then
    first = info[i + 1][1]
  end
end
local held = #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1], 'COUNT', 1)
local dropped = 0
if added > len then dropped = 1 end
return {first, held, dropped}
