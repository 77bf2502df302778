-- Sets a user's own setting of a flag. KEYS[1]: P..'ids'. ARGV: P, flag, user, mode ('on',
-- 'off' or 'unset'), most users. Returns 1 if it changed, 0 if not, -1 when the namespace
-- has given out every offset.
local P, flag, user, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local off = redis.call('HGET', P .. 'ids', user)
if not off then
  if mode == 'unset' then return 0 end
  if redis.call('LLEN', P .. 'users') >= tonumber(ARGV[5]) then return -1 end
  off = redis.call('RPUSH', P .. 'users', user) - 1
  redis.call('HSET', P .. 'ids', user, off)
end
local on_k, off_k = bits(P, flag)
local was_on = redis.call('GETBIT', on_k, off) == 1
local was_off = redis.call('GETBIT', off_k, off) == 1
local want_on, want_off = mode == 'on', mode == 'off'
if was_on == want_on and was_off == want_off then return 0 end
if was_on ~= want_on then redis.call('SETBIT', on_k, off, want_on and 1 or 0) end
if was_off ~= want_off then redis.call('SETBIT', off_k, off, want_off and 1 or 0) end
return 1
