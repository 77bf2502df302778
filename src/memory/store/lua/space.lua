-- Declares a vector space. KEYS[1]: P..'meta' (routing). ARGV: P, name, definition
-- ('<dim> <metric>'). Returns the stored definition when there is one (nothing changes),
-- else '' after storing it.
local P, name, def = ARGV[1], ARGV[2], ARGV[3]
local old = redis.call('HGET', P .. 'spaces', name)
if old then return old end
redis.call('HSET', P .. 'spaces', name, def)
record_changes(P, { { 'space:' .. name, 1, 'c' } })
return ''
