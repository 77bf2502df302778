-- A flag's settings. KEYS[1]: P..'ids' (routing). ARGV: P, flag.
-- Returns {global ('1', '0' or ''), rollout, users enabled, users disabled}.
local P, flag = ARGV[1], ARGV[2]
local c = redis.call('HMGET', P .. 'cfg', 'g:' .. flag, 'r:' .. flag)
local on_k, off_k = bits(P, flag)
return { c[1] or '', tonumber(c[2] or '0'), redis.call('BITCOUNT', on_k),
  redis.call('BITCOUNT', off_k) }
