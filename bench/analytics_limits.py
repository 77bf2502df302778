"""Rate limits for the `analytics` suite (bench/bench_analytics.py imports this module and
appends its rows; run alone: ``python bench/analytics_limits.py [--quick] [--redis-url URL]``).

- ``hub.limits.check`` on Redis against a redis-py sliding-window limiter as a competent
  developer writes it: one Lua script by ``EVALSHA`` (``ZREMRANGEBYSCORE`` + ``ZCARD`` +
  ``ZADD`` + ``PEXPIRE``, the usual sorted-set log; redis-py's ``register_script``), the same
  limit, window and keys. Checks per second from one caller and the p50 / p99 of one check
  (goal: at least 2x the checks per second). The keys cycle over 1,000 users with a limit
  of 100,000 per minute, so both sides admit every check and keep growing logs alike; a
  second pair of rows checks one key held at its limit (every check refused).
- The same ``check`` on the embedded store (no baseline: reported).
- The round-trip floor: redis-py ``PING`` beside the two, so the ratio can be read against
  what one round trip from Python costs.

Sequential measurements alternate the two sides block by block (100 checks; bench/alternate.py:
the first check of each block, which follows the other side's block, is not counted). A last
pair of rows checks after a 10 ms pause each time, the latency of a check now and then.

Redis runs a step of its Lua garbage collector inside every 50th script call, whichever
script it is; both sides call only scripts, so that step lands on 2 % of each side's checks
and sets both p99s. Two rows separate those calls from the others (``gc_step_rows``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis  # noqa: E402
import zerolag  # noqa: E402
from alternate import BLOCK, after_pause, alternate  # noqa: E402

# The baseline: a sliding-window log in one script, as found in most write-ups of the
# pattern. It returns {allowed, remaining}; the member is unique per request.
BASELINE_LUA = """
local key = KEYS[1]
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local n = redis.call('ZCARD', key)
if n < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, limit - n - 1}
end
return {0, 0}
"""


class RedisPyLimiter:
    """A sliding-window rate limiter on redis-py: one ``EVALSHA`` per check."""

    def __init__(self, r: redis.Redis, prefix: str) -> None:
        self.prefix = prefix
        self.script = r.register_script(BASELINE_LUA)
        self.seq = 0
        self.tag = os.urandom(4).hex()

    def check(self, key: str, limit: int, window_s: float) -> bool:
        now = int(time.time() * 1000)
        self.seq += 1
        member = f"{now}:{self.tag}:{self.seq}"
        allowed, _ = self.script(
            keys=[self.prefix + key], args=[now, int(window_s * 1000), limit, member]
        )
        return bool(allowed)


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def rate_rows(name: str, o: list[float], b: list[float] | None, **kw: Any) -> list[dict[str, Any]]:
    """A checks/s row (from the mean latency) and a p99 row."""
    mean_o = sum(o) / len(o)
    row: dict[str, Any] = {
        "name": f"{name}: checks/s",
        "ours": 1e6 / mean_o,
        "unit": "checks/s",
        "ours_p50_us": _pct(o, 0.5),
        "ours_p99_us": _pct(o, 0.99),
    }
    if b:
        mean_b = sum(b) / len(b)
        row["baseline"] = 1e6 / mean_b
        row["ratio"] = mean_b / mean_o
        row["baseline_p50_us"], row["baseline_p99_us"] = _pct(b, 0.5), _pct(b, 0.99)
    else:
        row["baseline"], row["ratio"] = None, None
    row.update(kw)
    p99 = {
        "name": f"{name}: p99 of one check",
        "ours": _pct(o, 0.99),
        "baseline": _pct(b, 0.99) if b else None,
        "unit": "us p99",
        "ratio": (_pct(b, 0.99) / _pct(o, 0.99)) if b else None,
    }
    return [row, p99]


# Redis runs a step of its Lua garbage collector after every 50th script call (server-wide,
# whichever script it is: LUA_GC_CYCLE_PERIOD in the server's script_lua.c), inside that call.
GC_PERIOD = 50


def gc_step_rows(o: list[float], b: list[float]) -> list[dict[str, Any]]:
    """Rows that separate the calls carrying the server's Lua GC step from the others.

    Both sides make only script calls, in blocks of ``BLOCK`` (a multiple of the period), so
    the step falls on the same positions of every block of either side: the position class
    (mod ``GC_PERIOD``) whose median is highest, relative to the side's median, is it."""
    per_block = BLOCK - 1  # alternate() does not count the first call of a block

    def classes(xs: list[float]) -> dict[int, list[float]]:
        out: dict[int, list[float]] = {}
        for j, x in enumerate(xs):
            out.setdefault((j % per_block + 1) % GC_PERIOD, []).append(x)
        return out

    co, cb = classes(o), classes(b)
    mo, mb = _pct(o, 0.5), _pct(b, 0.5)
    gc = max(co, key=lambda k: _pct(co[k], 0.5) / mo + _pct(cb.get(k, [mb]), 0.5) / mb)
    rest_o = [x for k, v in co.items() if k != gc for x in v]
    rest_b = [x for k, v in cb.items() if k != gc for x in v]
    go, gb = _pct(co[gc], 0.5), _pct(cb[gc], 0.5)
    return [
        {
            "name": "redis limits.check: the calls that carry the server's Lua GC step "
            f"(1 script call in {GC_PERIOD}, server-wide)",
            "ours": go,
            "baseline": gb,
            "unit": "us p50",
            "ratio": gb / go,
            "note": f"the step adds {go - mo:.0f} us to ours and {gb - mb:.0f} us to redis-py's "
            f"(over each side's median); with 2 % of the calls it sets both p99s",
        },
        {
            "name": f"redis limits.check: p99 of the other calls ({GC_PERIOD - 1} in {GC_PERIOD})",
            "ours": _pct(rest_o, 0.99),
            "baseline": _pct(rest_b, 0.99),
            "unit": "us p99",
            "ratio": _pct(rest_b, 0.99) / _pct(rest_o, 0.99),
        },
    ]


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    k = 1_000 if quick else 20_000
    rows: list[dict[str, Any]] = []
    if url:
        r = redis.Redis.from_url(url)
        ns = "bl" + uuid.uuid4().hex[:8]
        hub = zerolag.open(url, namespace=ns)
        base = RedisPyLimiter(r, prefix=f"blb{ns}:")
        lim = hub.limits

        ours_check = lambda i: lim.check(f"user:{i % 1000}", 100_000, 60.0)  # noqa: E731
        base_check = lambda i: base.check(f"user:{i % 1000}", 100_000, 60.0)  # noqa: E731
        o, b = alternate([ours_check, base_check], k)
        rows += rate_rows(
            "redis limits.check vs redis-py Lua sliding window (EVALSHA)", o, b, target=2.0
        )
        log(
            f"  limits.check: ours p50 {_pct(o, 0.5):.0f} us p99 {_pct(o, 0.99):.0f} us, "
            f"redis-py p50 {_pct(b, 0.5):.0f} us p99 {_pct(b, 0.99):.0f} us"
        )
        rows += gc_step_rows(o, b)
        o, b = alternate(
            [lambda i: lim.check("hot", 100, 3600.0), lambda i: base.check("hot", 100, 3600.0)],
            k,
        )
        rows += rate_rows("redis limits.check of a key at its limit (refused)", o, b)
        o, b = after_pause([ours_check, base_check], 20 if quick else 300)
        rows.append(
            {
                "name": "redis limits.check after a 10 ms pause (one check now and then)",
                "ours": _pct(o, 0.5),
                "baseline": _pct(b, 0.5),
                "unit": "us p50",
                "ratio": _pct(b, 0.5) / _pct(o, 0.5),
                "ours_p99_us": _pct(o, 0.99),
                "baseline_p99_us": _pct(b, 0.99),
                "note": "both connections idle 10 ms before each check; ours does not poll then",
            }
        )
        log(
            f"  after a pause: ours p50 {_pct(o, 0.5):.0f} us p99 {_pct(o, 0.99):.0f} us, "
            f"redis-py p50 {_pct(b, 0.5):.0f} us p99 {_pct(b, 0.99):.0f} us"
        )
        floor = alternate([lambda i: r.ping()], k)[0]
        rows.append(
            {
                "name": "redis floor: redis-py PING (one round trip from Python)",
                "ours": _pct(floor, 0.5),
                "baseline": None,
                "unit": "us p50",
                "ratio": None,
            }
        )
        hub.clear()
        hub.close()
        names = list(r.scan_iter(match=f"blb{ns}:*", count=1000))
        for i in range(0, len(names), 1000):
            r.unlink(*names[i : i + 1000])
    with tempfile.TemporaryDirectory() as root:
        hub = zerolag.open(root=root, namespace="bench")
        o = alternate([lambda i: hub.limits.check(f"user:{i % 1000}", 100_000, 60.0)], k)[0]
        rows += rate_rows("embedded limits.check (report)", o, None)
        log(f"  embedded limits.check: p50 {_pct(o, 0.5):.0f} us p99 {_pct(o, 0.99):.0f} us")
        hub.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--redis-url")
    a = ap.parse_args()
    import run as runner  # bench/run.py: starts a throwaway redis-server

    def go(url: str | None) -> None:
        rows = run(url, quick=a.quick, log=print)
        runner.print_table("analytics (limits)", rows)

    if a.redis_url:
        go(a.redis_url)
    else:
        with runner.local_redis() as url:
            go(url)


if __name__ == "__main__":
    main()
