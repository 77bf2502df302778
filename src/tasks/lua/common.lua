-- Shared helpers, prepended to every task script.
-- Byte-wise string order (the same order as SQLite's BINARY collation), independent of the
-- server's locale.
local function bytelt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
-- The archive's log of task versions (src/archive/sources/tasks.rs, docs/archive.md): while
-- the archive's tasks source is on (`arch:on`), every version written is appended whole to
-- the stream `arch` (a deletion as version + 1 without a doc); entries before the archive's
-- committed cursor are trimmed, and past the hold's bound (ARCH_BOUND entries waiting) the
-- oldest go and are counted in `archived:tasks:lost`.
local ARCH_BOUND = 100000
local function archive_versions(P, recs)
  if redis.call('EXISTS', P .. 'arch:on') == 0 then return end
  local log = P .. 'arch'
  for _, r in ipairs(recs) do
    if r[3] == 'd' then
      redis.call('XADD', log, '*', 'i', r[1], 'v', fmt(r[2] + 1), 'k', 'd')
    else
      local h = redis.call('HMGET', P .. 't:' .. r[1], 'doc', 'related')
      redis.call('XADD', log, '*', 'i', r[1], 'v', fmt(r[2]), 'k', r[3], 'd', h[1], 'r', h[2])
    end
  end
  local cur = redis.call('GET', P .. 'archived:tasks')
  if cur then
    local a = string.match(cur, '^L|(%d+%-%d+)$')
    if a then redis.call('XTRIM', log, 'MINID', a) end
  end
  if redis.call('XLEN', log) > ARCH_BOUND then
    local n = redis.call('XTRIM', log, 'MAXLEN', ARCH_BOUND)
    if n > 0 then redis.call('INCRBY', P .. 'archived:tasks:lost', n) end
  end
end
