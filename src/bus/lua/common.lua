-- Shared helpers, prepended to every bus script. P is the key prefix `zl:{<ns>:bus}:`.
-- now_ms() and fmt() come from the prelude (src/engine/lua/prelude.lua).
-- The next message id `<ms>-<seq>` of the namespace: ms never goes back, seq always grows, so
-- ids increase in every stream they are written to. Returns id, ms.
-- next_ids(P, k) reserves k ids at once: returns ms and the first seq (ids ms-seq .. ms-seq+k-1).
local function next_ids(P, k)
  local ms = now_ms()
  local last = tonumber(redis.call('HGET', P .. 'seq', 'ms') or '0')
  if last > ms then ms = last end
  local n = redis.call('HINCRBY', P .. 'seq', 'n', k)
  redis.call('HSET', P .. 'seq', 'ms', fmt(ms))
  return ms, n - k + 1
end
local function next_id(P)
  local ms, n = next_ids(P, 1)
  return fmt(ms) .. '-' .. n, ms
end
-- The stored envelope: `{"id":"<id>","time":<secs>` followed by the rest from Rust.
local function envelope(id, ms, rest)
  return '{"id":"' .. id .. '","time":' .. string.format('%d.%03d', math.floor(ms / 1000), ms % 1000) .. rest
end
-- Field list {k1, v1, k2, v2, ...} as a table.
local function fields(f)
  local o = {}
  for i = 1, #f, 2 do o[f[i]] = f[i + 1] end
  return o
end
-- Retention in force: what bus.configure() stored for the namespace, else the defaults given.
local function retention(P, maxlen, age)
  local c = redis.call('HMGET', P .. 'cfg', 'max_len', 'max_age_ms')
  return tonumber(c[1]) or tonumber(maxlen), tonumber(c[2]) or tonumber(age)
end
local function inbox(P, agent, rank) return P .. 'in:' .. agent .. ':' .. rank end
