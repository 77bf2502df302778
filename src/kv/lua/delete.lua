-- Deletes keys. KEYS[1]: P..'idx' (routing). ARGV: P, then the keys. Returns how many existed.
local P = ARGV[1]
local n = 0
for i = 2, #ARGV do
  n = n + redis.call('DEL', vkey(P, ARGV[i]))
  redis.call('ZREM', P .. 'idx', ARGV[i])
  redis.call('ZREM', P .. 'exp', ARGV[i])
end
return n
