-- Adds to an integer. KEYS[1]: P..'idx' (routing). ARGV: P, now (ms), key, by, ttl ms ('':
-- none; only for a key this creates). Returns {'ok', new} | {'notint'} | {'overflow'}.
-- HINCRBY does the arithmetic: exact over 64 bits, and it refuses an overflow.
local P, now, k, by, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local h = vkey(P, k)
local r = redis.call('HMGET', h, 't', 'v')
if r[1] and r[1] ~= 'j' then return { 'notint' } end
if not r[1] then redis.call('HSET', h, 't', 'j', 'd', '0') end
local new = redis.pcall('HINCRBY', h, 'd', by)
if type(new) == 'table' and new.err then
  if not r[1] then redis.call('DEL', h) end
  if string.find(new.err, 'overflow') then return { 'overflow' } end
  return { 'notint' }
end
redis.call('HSET', h, 'v', tonumber(r[2] or '0') + 1)
if not r[1] then
  redis.call('ZADD', P .. 'idx', 0, k)
  if ttl ~= '' then set_expiry(P, h, k, now + tonumber(ttl), ttl) end
end
-- The stored text, not the Lua number (a double: it would round a 64-bit value).
return { 'ok', redis.call('HGET', h, 'd') }
