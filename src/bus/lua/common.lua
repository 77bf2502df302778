-- Shared helpers, prepended to every bus script. P is the key prefix `zl:{<ns>:bus}:`.
-- Milliseconds since the epoch, from the server's clock.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fmt(n) return string.format('%.0f', n) end
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
local function inbox(P, agent, rank) return P .. 'in:' .. agent .. ':' .. rank end
