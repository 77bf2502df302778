-- Finished jobs after an archive cursor, in finish order (src/archive/sources/jobs.rs).
-- KEYS[1]: zl:{<ns>:jobs}:f. ARGV: P (the jobs prefix), after score ('' from the oldest),
-- after id, most. Returns {behind, n, then per job: score, id, flat HGETALL of its hash}.
-- Ids compare byte-wise (the order of equal scores in a sorted set), whatever the locale.
local P, after, aid, most = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local f = KEYS[1]
local a = tonumber(after)
local min = '-inf'
if a then min = after end
local out = {}
local n = 0
local off = 0
local last_s, last_id = nil, nil
while n < most do
  local page = redis.call('ZRANGEBYSCORE', f, min, '+inf', 'WITHSCORES', 'LIMIT', off, 256)
  if #page == 0 then break end
  for i = 1, #page, 2 do
    local id, s = page[i], page[i + 1]
    local sn = tonumber(s)
    if (not a) or sn > a or (sn == a and bytegt(id, aid)) then
      n = n + 1
      out[#out + 1] = s
      out[#out + 1] = id
      out[#out + 1] = redis.call('HGETALL', P .. 'j:' .. id)
      last_s, last_id = s, id
      if n >= most then break end
    end
  end
  off = off + 256
end
local behind = 0
if last_s then
  behind = redis.call('ZCOUNT', f, '(' .. last_s, '+inf')
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', f, last_s, last_s)) do
    if bytegt(id, last_id) then behind = behind + 1 end
  end
end
local res = {behind, n}
for _, v in ipairs(out) do res[#res + 1] = v end
return res
