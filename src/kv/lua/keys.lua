-- A page of keys starting with a prefix. KEYS[1]: P..'idx'. ARGV: P, now (ms), prefix, the
-- lower bound ('[prefix' or '(after', chosen by the caller in byte order), limit. Expired
-- keys are swept on the way and not returned. Returns the keys in byte order.
local P, now, prefix, lo, limit = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
sweep(P, now, 1000)
-- Every key with the prefix sorts below prefix..'\255' (keys are UTF-8: no 0xFF byte).
return redis.call('ZRANGEBYLEX', KEYS[1], lo, '[' .. prefix .. '\255', 'LIMIT', 0, limit)
