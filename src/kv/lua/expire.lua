-- Expiry of one key. KEYS[1]: P..'idx' (routing). ARGV: P, now (ms), key, mode, ttl ms.
-- mode 'set' (ttl '' removes the expiry), 'touch' (extends by the stored ttl), 'get'.
-- Returns 0 when the key is missing; otherwise 1 ('set', 'touch') or {pttl} ('get').
local P, now, k, mode, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local h = vkey(P, k)
if redis.call('EXISTS', h) == 0 then return 0 end
if mode == 'get' then return { redis.call('PTTL', h) } end
if mode == 'touch' then
  local l = redis.call('HGET', h, 'l')
  if l then set_expiry(P, h, k, now + tonumber(l), l) end
  return 1
end
if ttl ~= '' then set_expiry(P, h, k, now + tonumber(ttl), ttl) else set_expiry(P, h, k) end
return 1
