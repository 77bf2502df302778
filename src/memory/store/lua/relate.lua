-- Adds an edge. KEYS[1]: P..'meta' (routing). ARGV: P, now (ms), guard (the write count of
-- the source's out-edges the plan saw; '' none), space, its definition as the plan saw it
-- ('' none), then scope, src, relation, dst, valid_from, valid_to, confidence, metadata,
-- vector, the ids to invalidate at valid_from (space-joined).
-- Returns {'conflict'} when a guard fails (nothing written), else {time, edge id}.
local P, now, guard, sp, def = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local scope, src, rel, dst, vf = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local O = P .. 'out:' .. scope .. '|' .. src
if guard ~= '' and tonumber(redis.call('HGET', O, '#') or '0') ~= tonumber(guard) then
  return { 'conflict' }
end
if sp ~= '' and (redis.call('HGET', P .. 'spaces', sp) or '') ~= def then return { 'conflict' } end
local t = tx_time(P, now)
local id = fmt(redis.call('HINCRBY', P .. 'meta', 'edge', 1))
local recs = {}
for old in string.gmatch(ARGV[15], '%S+') do
  local h = P .. 'e:' .. old
  local inv = redis.call('HGET', h, 'inv') or '[]'
  local item = '[' .. vf .. ',' .. fmt(t) .. ']'
  if inv == '[]' then inv = '[' .. item .. ']' else inv = string.sub(inv, 1, -2) .. ',' .. item .. ']' end
  redis.call('HSET', h, 'inv', inv)
  local _, n = string.gsub(inv, '%[%-?%d', '')
  recs[#recs + 1] = { 'edge:' .. old, n + 1, 'u' }
end
redis.call('HSET', P .. 'e:' .. id, 's', scope, 'a', src, 'r', rel, 'b', dst, 'vf', vf,
  'vt', ARGV[11], 'c', ARGV[12], 'm', ARGV[13], 'sp', sp, 'vec', ARGV[14], 'ra', fmt(t),
  'inv', '[]')
redis.call('HSET', O, id, rel)
redis.call('HINCRBY', O, '#', 1)
redis.call('HSET', P .. 'in:' .. scope .. '|' .. dst, id, rel)
redis.call('ZADD', P .. 'se:' .. scope, id, id)
redis.call('ZADD', P .. 'edges', id, id)
recs[#recs + 1] = { 'edge:' .. id, 1, 'c' }
record_changes(P, recs)
return { fmt(t), id }
