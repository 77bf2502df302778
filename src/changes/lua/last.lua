-- The end of one capability's change feed. KEYS[1]: the feed stream `P changes`. ARGV: P.
-- Returns {last sequence number ('0' if none), the stream id of the newest entry ('' if none)}.
local P = ARGV[1]
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local pos = ''
if #newest > 0 then pos = newest[1][1] end
return { redis.call('GET', P .. 'changes:n') or '0', pos }
