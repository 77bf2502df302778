-- Deletes one log and its entry in the index of logs; returns how many entries it held.
-- KEYS[1] the log's stream, KEYS[2] the index of logs; ARGV[1] the log's id
local n = redis.call('XLEN', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n
