-- ARGV[4] repo, [5] type ('' for all), [6] min confidence, [7] limit. Live patterns by
-- confidence (ties with the last included); refreshes their expiry.
local repo, ty, min, limit = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
sweep_patterns(repo, -1)
local key = M .. 'pr:' .. repo
if ty ~= '' then key = M .. 'pt:' .. repo .. '|' .. ty end
local out = {}
for _, id in ipairs(top(key, min, limit, true)) do
  local p = pattern(id)
  if p then
    refresh_pattern(repo, id, p[2], false)
    flat(out, p)
  end
end
return out
