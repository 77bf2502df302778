-- The start cursor of a jobs, tasks or patterns source (src/archive/sources/state.rs): the
-- stored one, else ARGV[1], committed. KEYS[1] the cursor key, then ARGV[2] flag keys set to
-- '1' first (the tasks' archive log: on before the cursor exists). Returns the cursor.
for i = 1, tonumber(ARGV[2]) do redis.call('SET', KEYS[1 + i], '1') end
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
