-- Shared helpers, prepended to every task script.
-- Byte-wise string order (the same order as SQLite's BINARY collation), independent of the
-- server's locale.
local function bytelt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
