-- Forgets a key's admissions. KEYS[1]: its log. Returns 1 if it had any.
return redis.call('DEL', KEYS[1])
