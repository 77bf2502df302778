-- Commits an archive cursor, never backwards (src/archive/sources/state.rs).
-- KEYS[1]: zl:{<ns>:<tag>}:archived:<source>. ARGV: cursor, mode ('n': '<number>|<id>'
-- ordered by number then id; 't': the tasks cursor, 'S|...' (snapshot) before 'L|<n>-<m>').
-- Returns 1 when stored, 0 when the stored one was newer or equal.
local old = redis.call('GET', KEYS[1])
local new = ARGV[1]
local function newer(a, b)
  if ARGV[2] == 'n' then
    local an, ai = string.match(a, '^([^|]*)|(.*)$')
    local bn, bi = string.match(b, '^([^|]*)|(.*)$')
    if tonumber(an) ~= tonumber(bn) then return tonumber(an) > tonumber(bn) end
    return bytegt(ai, bi)
  end
  local ak, bk = string.sub(a, 1, 1), string.sub(b, 1, 1)
  if ak ~= bk then return ak == 'L' end
  if ak == 'S' then return a ~= b end
  local a1, a2 = string.match(a, '^L|(%d+)-(%d+)$')
  local b1, b2 = string.match(b, '^L|(%d+)-(%d+)$')
  if tonumber(a1) ~= tonumber(b1) then return tonumber(a1) > tonumber(b1) end
  return tonumber(a2) > tonumber(b2)
end
if old and not newer(new, old) then return 0 end
redis.call('SET', KEYS[1], new)
return 1
