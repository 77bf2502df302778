-- Writes new versions, all or none. KEYS[1]: P..'meta' (routing). ARGV: P, now (ms), then
-- the guards: G, G x (scope, key, the version count the plan saw); S, S x (space, its
-- definition as the plan saw it); then 19 per version: the 18 fields of put_row and its cuts
-- ('r<row>' an existing row, 'b<i>' the i-th (0-based) version of this batch; space-joined).
-- Returns {'conflict'} when a guard fails (nothing written), else {time, first row id}.
local P, now = ARGV[1], tonumber(ARGV[2])
local i = 3
local g = tonumber(ARGV[i]); i = i + 1
for _ = 1, g do
  if redis.call('HLEN', lkey(P, ARGV[i], ARGV[i + 1])) ~= tonumber(ARGV[i + 2]) then
    return { 'conflict' }
  end
  i = i + 3
end
local s = tonumber(ARGV[i]); i = i + 1
for _ = 1, s do
  if (redis.call('HGET', P .. 'spaces', ARGV[i]) or '') ~= ARGV[i + 1] then return { 'conflict' } end
  i = i + 2
end
local F = 19
local n = (#ARGV - i + 1) / F
local t = tx_time(P, now)
local first = redis.call('HINCRBY', P .. 'meta', 'row', n) - n + 1
local recs = {}
local ix = new_index()
for j = 0, n - 1 do
  local b = i + j * F
  for c in string.gmatch(ARGV[b + 18], '%S+') do
    local r = string.sub(c, 2)
    if string.sub(c, 1, 1) == 'b' then r = fmt(first + tonumber(r)) end
    local h = P .. 'r:' .. r
    if redis.call('HSETNX', h, 'sa', fmt(t)) == 1 then
      recs[#recs + 1] = { 'row:' .. r, tonumber(redis.call('HGET', h, 'v')), 'u' }
    end
  end
  local row = fmt(first + j)
  put_row(P, row, b, fmt(t), '', ix)
  recs[#recs + 1] = { 'row:' .. row, tonumber(ARGV[b + 2]), 'c' }
end
flush_index(P, ix)
record_changes(P, recs)
return { fmt(t), fmt(first) }
