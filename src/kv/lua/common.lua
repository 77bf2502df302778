-- Shared by the kv scripts. P is the key prefix `zl:{<ns>:kv}:`: the index `P idx` (every
-- key, score 0, for prefix listing by ZRANGEBYLEX), `P exp` (keys with an expiry, scored by
-- it) and one hash `P v:<encoded key>` per key: `t` type (b bytes, s text, j JSON), `d` data,
-- `v` version, `l` time to live in ms (for touch). The key is encoded so that the Redis key
-- name is printable: bytes below '!', DEL and '%' become %XX; nothing else changes.
local function vkey(P, key)
  return P .. 'v:' .. string.gsub(key, '[%z\1-\32\127%%]', function(c)
    return string.format('%%%02X', string.byte(c))
  end)
end
-- Drops up to `n` keys whose expiry has passed from the index (their hashes expire natively;
-- DEL in case the server has not reaped them yet). Returns how many went.
local function sweep(P, now, n)
  local gone = redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', now, 'LIMIT', 0, n)
  for _, k in ipairs(gone) do
    redis.call('DEL', vkey(P, k))
    redis.call('ZREM', P .. 'idx', k)
    redis.call('ZREM', P .. 'exp', k)
  end
  return #gone
end
-- Sets or removes the expiry of key `k` (hash h): `at` ms since the epoch or nil.
local function set_expiry(P, h, k, at, ttl)
  if at then
    redis.call('PEXPIREAT', h, at)
    redis.call('ZADD', P .. 'exp', at, k)
    redis.call('HSET', h, 'l', ttl)
  else
    redis.call('PERSIST', h)
    redis.call('ZREM', P .. 'exp', k)
    redis.call('HDEL', h, 'l')
  end
end
