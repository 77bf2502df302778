-- Forgets archive cursors: KEYS[1..n-1] cursor keys (the last key is the slot guard); each
-- one's overrun counter `<key>:lost` goes too. Returns how many cursors there were.
local n = 0
for i = 1, #KEYS - 1 do
  n = n + redis.call('DEL', KEYS[i])
  redis.call('DEL', KEYS[i] .. ':lost')
end
return n
