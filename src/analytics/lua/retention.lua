-- Sets (ARGV[2] a number of days) or reads (ARGV[2] '') the retention. KEYS[1]: P..'t'.
-- ARGV: P, days or '', default. Returns the days in force.
local P = ARGV[1]
if ARGV[2] ~= '' then redis.call('HSET', P .. 'cfg', 'days', ARGV[2]) end
return retention(P, ARGV[3])
