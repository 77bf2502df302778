-- The file now holds an earlier store text (its write-back raced a newer store write): that
-- text becomes the synced base. KEYS[1]: P..'doc:'..path. ARGV: hash, text.
-- Only while the store holds another text (else done.lua settles it). Returns 1 or 0.
local hash, text = ARGV[1], ARGV[2]
local cur = redis.call('HGET', KEYS[1], 'hash')
if not cur or cur == hash then return 0 end
redis.call('HSET', KEYS[1], 'synced', hash, 'base', text)
return 1
