-- A sliding-window check. KEYS[1]: the key's log, a sorted set of admissions scored by their
-- time (ms); members are `<nonce>:<i>`, unique per admission. ARGV: now (ms), window (ms),
-- limit, cost, admit ('1' records an admitted request; '0' is a peek and writes nothing),
-- nonce. An entry at time t is in the window while now - t < window.
-- Returns {entries in the window before the request, time of the newest of them (-1: none),
-- time of the entry whose leaving makes room for the request (-1: it fits now)}; the Rust
-- side makes the decision from these (limits::decide_from), as the embedded store does.
local k = KEYS[1]
local now, win, limit, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local cutoff = now - win
local n
if ARGV[5] == '1' then
  redis.call('ZREMRANGEBYSCORE', k, '-inf', cutoff)
  n = redis.call('ZCARD', k)
else
  n = redis.call('ZCOUNT', k, '(' .. fmt(cutoff), '+inf')
end
local newest, gate = -1, -1
if n > 0 then
  newest = tonumber(redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')[2])
end
if n + cost > limit then
  local e = redis.call('ZRANGEBYSCORE', k, '(' .. fmt(cutoff), '+inf', 'WITHSCORES', 'LIMIT',
    n + cost - limit - 1, 1)
  gate = tonumber(e[2])
elseif ARGV[5] == '1' then
  -- In chunks: unpack takes a few thousand values at most, and a cost may be 100,000.
  local i = 1
  while i <= cost do
    local args = {}
    for j = i, math.min(cost, i + 999) do
      args[#args + 1] = now
      args[#args + 1] = ARGV[6] .. ':' .. j
    end
    redis.call('ZADD', k, unpack(args))
    i = i + 1000
  end
  -- The key's time to live (server clock) backs the explicit check: the log goes once its
  -- newest entry has left the window.
  redis.call('PEXPIRE', k, math.max(1, math.max(newest, now) + win - now))
end
return { n, newest, gate }
