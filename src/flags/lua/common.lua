-- Shared by the flags scripts. P is the key prefix `zl:{<ns>:flags}:`: `P ids` (hash: user
-- id -> bit offset), `P users` (list: offset -> user id; offsets are given out 0, 1, 2, ...
-- by RPUSH), `P on:<flag>` and `P off:<flag>` (bitmaps of the users enabled or disabled one
-- by one), `P cfg` (hash: `g:<flag>` the global switch '1' or '0', `r:<flag>` the rollout in
-- hundredths of a percent).
local function bits(P, flag) return P .. 'on:' .. flag, P .. 'off:' .. flag end
