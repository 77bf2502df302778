-- Shared helpers, prepended to every bus script. P is the key prefix `zl:{<ns>:bus}:`.
-- now_ms() and fmt() come from the prelude (src/engine/lua/prelude.lua).
-- The next message id `<ms>-<seq>` of the namespace (of one partition): ms never goes back,
-- seq always grows, so ids increase in every stream they are written to. Returns id, ms.
-- next_ids(P, k, step, part, fms, fseq) reserves k ids at once: returns ms and the first
-- counter value c; the i-th id is ms-((c + i - 1) * step + part) (seq_of). With partitions
-- (step = their count, part = this one's number) the sequence number tells the partition
-- that gave the id; with one partition (step 1, part 0) ids are ms-c as they always were.
-- (fms, fseq): an id the caller saw last; the ids given are greater (one handle's ids keep
-- increasing across partitions).
local function next_ids(P, k, step, part, fms, fseq)
  step, part = step or 1, part or 0
  local ms = now_ms()
  local last = tonumber(redis.call('HGET', P .. 'seq', 'ms') or '0')
  if last > ms then ms = last end
  if fms and fms > ms then ms = fms end
  local n = redis.call('HINCRBY', P .. 'seq', 'n', k)
  local first = n - k + 1
  if fms and ms == fms and first * step + part <= fseq then
    first = math.floor(fseq / step) + 1
    redis.call('HSET', P .. 'seq', 'n', fmt(first + k - 1))
  end
  redis.call('HSET', P .. 'seq', 'ms', fmt(ms))
  return ms, first
end
local function seq_of(first, i, step, part) return fmt((first + i - 1) * (step or 1) + (part or 0)) end
local function next_id(P, step, part)
  local ms, n = next_ids(P, 1, step, part)
  return fmt(ms) .. '-' .. seq_of(n, 1, step, part), ms
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
-- The stream id of message `id` in this partition: its alias (a message that another
-- partition gave its id to, see share.lua), else the id itself. `aliased`: '1' with partitions.
local function stream_id(P, id, aliased)
  if aliased ~= '1' then return id end
  return redis.call('GET', P .. 'alias:' .. id) or id
end
