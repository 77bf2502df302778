-- Writes entries, all of them. KEYS[1]: P..'idx' (routing). ARGV: P, now (ms), a fresh
-- epoch (used only when there is none), lease token ('' none), max entries, max bytes ('0'
-- unbounded), then 7 per entry: key, type, data, ttl ms ('' none), tags ('tag\n' each),
-- semantic scope ('' none) and prompt embedding (f32 LE). A scope's embedding dimension is
-- fixed by its first entry (`P sd`): an embedding of another returns {scope, its dimension}
-- before anything is written.
-- Past a bound, evicts the entry idle longest among a sample of 5 (Redis's own idle clock)
-- until under it (never one this call wrote, unless nothing else is left). Returns how many
-- entries it evicted.
local P, now, fresh, token = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local max_n, max_b = tonumber(ARGV[5]), tonumber(ARGV[6])
local n = (#ARGV - 6) / 7
for i = 1, n do
  local b = 6 + (i - 1) * 7
  if ARGV[b + 6] ~= '' then
    local have = redis.call('HGET', P .. 'sd', ARGV[b + 6])
    if have and tonumber(have) ~= #ARGV[b + 7] / 4 then return { ARGV[b + 6], have } end
  end
end
local ep = epoch(P, fresh)
local written = {}
for i = 1, n do
  local b = 6 + (i - 1) * 7
  local k, data, ttl, tags = ARGV[b + 1], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
  remove(P, k, now)
  written[k] = true
  local g = {}
  for t in string.gmatch(tags, '([^\n]*)\n') do
    g[#g + 1] = t .. '\n' .. (redis.call('HGET', P .. 'g', 't:' .. t) or '0') .. '\n'
    redis.call('HINCRBY', P .. 'tn', t, 1)
  end
  local h = ekey(P, k)
  redis.call('HSET', h, 't', ARGV[b + 2], 'd', data, 's', #data, 'g', table.concat(g), 'x', ep)
  if #g > 0 then
    -- The tag clock it was written at: a read that finds it unchanged needs no tag checks.
    redis.call('HSET', h, 'y', redis.call('HGET', P .. 'g', '*') or '0')
  end
  if ttl ~= '' then
    local at = now + tonumber(ttl)
    redis.call('HSET', h, 'e', fmt(at))
    redis.call('PEXPIREAT', h, fmt(at + GRACE))
    redis.call('ZADD', P .. 'exp', fmt(at), k)
  end
  redis.call('ZADD', P .. 'idx', 0, k)
  if ARGV[b + 6] ~= '' then
    redis.call('HSET', h, 'c', ARGV[b + 6], 'v', ARGV[b + 7])
    redis.call('HSETNX', P .. 'sd', ARGV[b + 6], fmt(#ARGV[b + 7] / 4))
    redis.call('ZADD', P .. 'sem', 0, k)
    record_changes(P, { { 'sem:' .. k, 0, 'c' } })
  end
  redis.call('HINCRBY', P .. 'n', 'entries', 1)
  redis.call('HINCRBY', P .. 'n', 'bytes', #data)
  if token ~= '' and redis.call('GET', lkey(P, k)) == token then redis.call('DEL', lkey(P, k)) end
end
sweep(P, now, 32)
local evicted = 0
if max_n > 0 or max_b > 0 then
  for _ = 1, 2 * n + 64 do
    local c = redis.call('HMGET', P .. 'n', 'entries', 'bytes')
    local over = (max_n > 0 and tonumber(c[1] or '0') > max_n)
      or (max_b > 0 and tonumber(c[2] or '0') > max_b)
    if not over then break end
    local best, idle = nil, -1
    local sample = redis.call('ZRANDMEMBER', P .. 'idx', 5)
    for _, k in ipairs(sample) do
      if not written[k] then
        local it = redis.pcall('OBJECT', 'IDLETIME', ekey(P, k))
        if type(it) ~= 'number' then it = 0 end
        if it > idle then best, idle = k, it end
      end
    end
    -- Only entries this call wrote are left: evict one of them.
    if not best and tonumber(redis.call('ZCARD', P .. 'idx')) <= n then best = sample[1] end
    if not best and #sample == 0 then break end
    if best then
      remove(P, best, now)
      evicted = evicted + 1
    end
  end
end
return evicted
