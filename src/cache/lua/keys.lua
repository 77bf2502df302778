-- A page of keys starting with a prefix. KEYS[1]: P..'idx'. ARGV: P, prefix, the lower bound
-- ('[prefix' or '(after', chosen by the caller in byte order), limit. Returns the keys.
local P, prefix, lo, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
return redis.call('ZRANGEBYLEX', KEYS[1], lo, '[' .. prefix .. '\255', 'LIMIT', 0, limit)
