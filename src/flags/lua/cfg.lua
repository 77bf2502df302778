-- Sets a flag's global switch or rollout. KEYS[1]: P..'ids' (routing). ARGV: P, flag, field
-- ('g' or 'r'), value ('' removes it).
local P, flag, f, v = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if v == '' then
  redis.call('HDEL', P .. 'cfg', f .. ':' .. flag)
else
  redis.call('HSET', P .. 'cfg', f .. ':' .. flag, v)
end
return 1
