-- Appends entries to one log in order, trims it to its newest max_len (exact MAXLEN), lists it
-- in the index of logs and wakes its followers.
-- KEYS[1] the log's stream, KEYS[2] the index of logs
-- ARGV[1] the log's id, ARGV[2] max_len, ARGV[3] wake channel, ARGV[4] nf (fields per entry),
-- ARGV[5 .. 4+nf] the field names, then nf values per entry ('' for no meta). Returns the ids.
local nf = tonumber(ARGV[4])
local names = {}
for j = 1, nf do names[j] = ARGV[4 + j] end
local at = next_at()
local ids = {}
for i = 5 + nf, #ARGV, nf do
  local args = fields({ 'XADD', KEYS[1], 'MAXLEN', '=', ARGV[2], at }, names, i)
  ids[#ids + 1] = redis.call(unpack(args))
  at = '*'
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('PUBLISH', ARGV[3], '')
return ids
