-- One capability's change feed after a position. KEYS[1]: the feed stream `P changes`.
-- ARGV: prefix P, position ('' for the oldest entry), count.
-- Returns {last sequence number ('0' if none), then per entry: stream id, seq, id, version,
-- kind}.
local P = ARGV[1]
local out = { redis.call('GET', P .. 'changes:n') or '0' }
local start = '-'
if ARGV[2] ~= '' then start = '(' .. ARGV[2] end
for _, e in ipairs(redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', tonumber(ARGV[3]))) do
  local f = e[2]
  out[#out + 1] = e[1]
  out[#out + 1] = f[2]
  out[#out + 1] = f[4]
  out[#out + 1] = f[6]
  out[#out + 1] = f[8]
end
return out
