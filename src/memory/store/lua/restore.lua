-- Writes exported memory as it was (an import into an empty namespace). KEYS[1]: P..'meta'.
-- ARGV: P, what, then per item:
-- 'space': name, definition;
-- 'row': row id, recorded_at, superseded_at ('' none), then the 18 fields of put_row;
-- 'edge': id, scope, src, relation, dst, valid_from, valid_to, confidence, metadata, space,
--   vector, recorded_at, invalidations (JSON), the latest transaction time it holds.
-- Keeps the counters at the largest row id, edge id and transaction time seen.
local P, what = ARGV[1], ARGV[2]
local M = P .. 'meta'
local function at_least(field, v)
  if v > tonumber(redis.call('HGET', M, field) or '0') then redis.call('HSET', M, field, fmt(v)) end
end
local n = 0
if what == 'space' then
  for k = 3, #ARGV, 2 do
    redis.call('HSET', P .. 'spaces', ARGV[k], ARGV[k + 1])
    n = n + 1
  end
elseif what == 'row' then
  local ix = new_index()
  for b = 3, #ARGV, 21 do
    put_row(P, ARGV[b], b + 3, ARGV[b + 1], ARGV[b + 2], ix)
    at_least('row', tonumber(ARGV[b]))
    at_least('t', tonumber(ARGV[b + 1]))
    if ARGV[b + 2] ~= '' then at_least('t', tonumber(ARGV[b + 2])) end
    n = n + 1
  end
  flush_index(P, ix)
elseif what == 'edge' then
  for b = 3, #ARGV, 14 do
    local id, scope, src, rel, dst = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
    redis.call('HSET', P .. 'e:' .. id, 's', scope, 'a', src, 'r', rel, 'b', dst,
      'vf', ARGV[b + 5], 'vt', ARGV[b + 6], 'c', ARGV[b + 7], 'm', ARGV[b + 8], 'sp', ARGV[b + 9],
      'vec', ARGV[b + 10], 'ra', ARGV[b + 11], 'inv', ARGV[b + 12])
    local O = P .. 'out:' .. scope .. '|' .. src
    redis.call('HSET', O, id, rel)
    redis.call('HINCRBY', O, '#', 1)
    redis.call('HSET', P .. 'in:' .. scope .. '|' .. dst, id, rel)
    redis.call('ZADD', P .. 'se:' .. scope, id, id)
    redis.call('ZADD', P .. 'edges', id, id)
    at_least('edge', tonumber(id))
    at_least('t', tonumber(ARGV[b + 13]))
    n = n + 1
  end
end
return n
