-- Forgets a flag. KEYS[1]: P..'ids' (routing). ARGV: P, flag. Returns how many keys or
-- fields went.
local P, flag = ARGV[1], ARGV[2]
local on_k, off_k = bits(P, flag)
return redis.call('DEL', on_k, off_k) + redis.call('HDEL', P .. 'cfg', 'g:' .. flag, 'r:' .. flag)
