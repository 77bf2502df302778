"""What the server's Lua garbage collector does to the p99 of script calls, as the server holds
more scripts (run alone: ``python bench/lua_gc.py [--quick]``; starts its own redis-server).

Redis runs a step of its Lua collector inside every 50th script call, server-wide, whichever
script it is (``LUA_GC_CYCLE_PERIOD`` in the server's ``script_lua.c``). With 2 % of the calls
carrying it, that step sets the p99 of any script-based operation. How long a step takes grows
with the Lua heap, i.e. with the scripts the server holds (every application's scripts are
kept until a restart or ``SCRIPT FLUSH``). This measures ``hub.limits.check`` against the
redis-py sliding-window limiter of the ``analytics`` suite (bench/analytics_limits.py) on a
server holding 0, 4, 8, 16 and 32 other scripts of about 20 KB each (a table of 300 strings),
reporting the step's cost on each side's calls and both p99s.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis  # noqa: E402
import zerolag  # noqa: E402
from alternate import alternate  # noqa: E402
from analytics_limits import RedisPyLimiter, _pct, gc_step_rows  # noqa: E402


def other_script(j: int) -> str:
    """A script of about 20 KB of Lua heap, like an application's library."""
    return "local t = {" + ",".join(f"'s{j}_{k}'" for k in range(300)) + "}\nreturn #t"


def measure(url: str, scripts: int, n: int) -> dict[str, Any]:
    r = redis.Redis.from_url(url)
    r.script_flush()
    for j in range(scripts):
        r.script_load(other_script(j))
    heap_kb = r.eval("collectgarbage('collect') return collectgarbage('count')", 0)
    hub = zerolag.open(url, namespace="gc" + os.urandom(4).hex())
    base = RedisPyLimiter(r, prefix=f"gcb{os.urandom(4).hex()}:")
    lim = hub.limits
    o, b = alternate(
        [
            lambda i: lim.check(f"user:{i % 1000}", 100_000, 60.0),
            lambda i: base.check(f"user:{i % 1000}", 100_000, 60.0),
        ],
        n,
    )
    step, _rest = gc_step_rows(o, b)
    hub.clear()
    hub.close()
    return {
        "scripts": scripts,
        "heap_kb": heap_kb,
        "step_ours": step["ours"] - _pct(o, 0.5),
        "step_theirs": step["baseline"] - _pct(b, 0.5),
        "p50": (_pct(o, 0.5), _pct(b, 0.5)),
        "p99": (_pct(o, 0.99), _pct(b, 0.99)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    import run as runner  # bench/run.py: starts a throwaway redis-server

    n = 2_000 if a.quick else 20_000
    with runner.local_redis() as url:
        print(
            f"{'other scripts':>13}  {'Lua heap':>8}  {'step: ours':>10}  {'redis-py':>8}  "
            f"{'p50 ours / redis-py':>19}  {'p99 ours / redis-py':>19}  {'p99 ratio':>9}"
        )
        for scripts in (0, 4, 8, 16, 32):
            m = measure(url, scripts, n)
            (o50, b50), (o99, b99) = m["p50"], m["p99"]
            print(
                f"{scripts:>13}  {m['heap_kb']:>5} KB  {m['step_ours']:>7.0f} us  "
                f"{m['step_theirs']:>5.0f} us  {o50:>8.0f} / {b50:>4.0f} us  "
                f"{o99:>8.0f} / {b99:>4.0f} us  {b99 / o99:>8.2f}x"
            )


if __name__ == "__main__":
    main()
