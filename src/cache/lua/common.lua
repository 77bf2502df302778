-- Shared by the cache scripts. P is the key prefix `zl:{<ns>:cache}:` (docs/keys.md):
-- `P e:<key>` one hash per entry: `t` type, `d` data, `s` size, `g` its tags with their
-- generations when written (`tag\ngen\n` each), `x` the epoch it was written in, `y` (an
-- entry with tags) the tag clock when written, `e` its expiry in ms (absent: none); `P idx`
-- every key (score 0, prefix listing; an entry missing from it is not served); `P exp` keys
-- by expiry; `P g` the generations: `~` the epoch, `*` the tag clock (one more at every
-- invalidation), `t:<tag>` each tag's counter; `P tn` entries of the current generation per tag; `P n`
-- counters `hits`, `misses`, `entries`, `bytes`; `P l:<key>` a lease (token, PX).
-- A semantic entry's hash also has `c` its scope and `v` its prompt embedding (f32 LE), and
-- its key is in `P sem` (score 0); writing or removing one records `sem:<key>` in the
-- cache's change feed (`P changes`, `P changes:n`).
-- Keys are encoded as kv encodes them: bytes below '!', DEL and '%' become %XX.
local GRACE = 300000
local function enc(key)
  return (string.gsub(key, '[%z\1-\32\127%%]', function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end
local function ekey(P, key) return P .. 'e:' .. enc(key) end
local function lkey(P, key) return P .. 'l:' .. enc(key) end
local function each_tag(g) return string.gmatch(g or '', '([^\n]*)\n([^\n]*)\n') end
-- The namespace's epoch: a new one when the generations hash is new (or was evicted), so
-- entries written before can never match generations that started over.
local function epoch(P, fresh)
  local ep = redis.call('HGET', P .. 'g', '~')
  if not ep and fresh then
    ep = fresh
    redis.call('HSET', P .. 'g', '~', ep)
    redis.call('DEL', P .. 'tn')
  end
  return ep
end
-- True when entry fields x (epoch) and g (tags) are those of the current generations.
local function current(P, x, g)
  local ep = redis.call('HGET', P .. 'g', '~')
  if not ep or ep ~= x then return false end
  for t, n in each_tag(g) do
    if (redis.call('HGET', P .. 'g', 't:' .. t) or '0') ~= n then return false end
  end
  return true
end
-- Removes entry k (its hash h, fields x, g, s already read; nil when the hash is gone) and
-- takes it out of the counters.
local function drop(P, k, x, g, s)
  redis.call('DEL', ekey(P, k))
  if redis.call('ZREM', P .. 'sem', k) == 1 then
    record_changes(P, { { 'sem:' .. k, 0, 'd' } })
  end
  local was = redis.call('ZREM', P .. 'idx', k)
  redis.call('ZREM', P .. 'exp', k)
  if was == 1 then redis.call('HINCRBY', P .. 'n', 'entries', -1) end
  if s then
    redis.call('HINCRBY', P .. 'n', 'bytes', -tonumber(s))
    if x and x == redis.call('HGET', P .. 'g', '~') then
      for t, n in each_tag(g) do
        if (redis.call('HGET', P .. 'g', 't:' .. t) or '0') == n then
          if redis.call('HINCRBY', P .. 'tn', t, -1) <= 0 then redis.call('HDEL', P .. 'tn', t) end
        end
      end
    end
  end
end
-- Removes the entry at k if there is one; returns 1 if it was live at `now`.
local function remove(P, k, now)
  local r = redis.call('HMGET', ekey(P, k), 'x', 'g', 's', 'e')
  if not r[3] and not redis.call('ZSCORE', P .. 'idx', k) then return 0 end
  drop(P, k, r[1], r[2], r[3])
  if r[3] and (not r[4] or tonumber(r[4]) > now) then return 1 end
  return 0
end
-- Removes up to `n` entries whose expiry has passed. Returns how many went.
local function sweep(P, now, n)
  local gone = redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', now, 'LIMIT', 0, n)
  for _, k in ipairs(gone) do remove(P, k, now) end
  return #gone
end
