"""The `analytics` suite: ``hub.analytics`` and ``hub.trending`` against what a Python user
would otherwise write with redis-py (bench/baseline_analytics.py), in one run (docs/analytics.md).

- ``track`` events/s on Redis: ``track_many`` batches of 10,000 (2,000 with --quick) against
  the redis-py pipeline of the same events (HINCRBY x4, PFADD, one EXPIREAT per key; goal: at
  least 3x); single ``track`` calls against one pipelined round trip per event (reported: both
  are bounded by one round trip each). The embedded store's rates are reported beside them.
- ``uniques`` over 30 days (30 daily HyperLogLogs of 20,000 users each; 3,000 with --quick),
  p50/p99 on both backends (goal: p50 under 2 ms), against redis-py ``PFCOUNT`` of the 30 keys.
- ``top(10)`` of a board of 1,000 items, p50/p99 on both backends (goal: p50 under 1 ms),
  against redis-py ``ZREVRANGE ... WITHSCORES``.
- The rows of ``bench/analytics_limits.py`` and ``bench/analytics_chat.py`` (rate limits,
  sessions, flags, chat), when those modules are present.
"""

from __future__ import annotations

import importlib
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
from baseline_analytics import RedisAnalytics  # noqa: E402

NEEDS_REDIS = True
ORDER = 90
DAY = 86400
EVENTS = [f"event_{i}" for i in range(10)]
PLANS = ["free", "pro", "team"]


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def latencies(fn: Callable[[int], Any], k: int) -> list[float]:
    for i in range(min(50, k)):  # warm up
        fn(i)
    out = []
    for i in range(k):
        t0 = time.perf_counter_ns()
        fn(i)
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def lat_row(name: str, ours: list[float], base: list[float] | None, **kw: Any) -> dict[str, Any]:
    p50 = _pct(ours, 0.5)
    b50 = _pct(base, 0.5) if base else None
    d: dict[str, Any] = {"name": name, "ours": p50, "baseline": b50, "unit": "us p50"}
    d["ratio"] = (b50 / p50) if b50 else None
    d["ours_p50_us"], d["ours_p99_us"] = p50, _pct(ours, 0.99)
    if base:
        d["baseline_p50_us"], d["baseline_p99_us"] = b50, _pct(base, 0.99)
    d.update(kw)
    return d


def rate_row(name: str, ours: float, base: float | None, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"name": name, "ours": ours, "baseline": base, "unit": "events/s"}
    d["ratio"] = ours / base if base else None
    d.update(kw)
    return d


def events(n: int, at: float, seed: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "event": EVENTS[(i * 7 + seed) % len(EVENTS)],
            "user": f"user{(i * 7919 + seed) % 100_000}",
            "props": {"plan": PLANS[i % 3]},
            "at": at + (i % 3600),
        }
        for i in range(n)
    ]


def rate(fn: Callable[[list[dict[str, Any]]], Any], batches: list[list[dict[str, Any]]]) -> float:
    """Events per second over the batches (best of the halves, after one warm-up batch)."""
    fn(batches[0])
    t0 = time.perf_counter()
    n = 0
    for b in batches[1:]:
        fn(b)
        n += len(b)
    return n / (time.perf_counter() - t0)


def fill_days(
    track_many: Callable[[list[dict[str, Any]]], Any], today: float, per_day: int
) -> None:
    for d in range(30):
        at = today - d * DAY
        for s in range(0, per_day, 5000):
            track_many(
                [
                    {"event": "open", "user": f"u{d}-{i}", "at": at}
                    for i in range(s, min(per_day, s + 5000))
                ]
            )


def suite(
    hub: Any, base: RedisAnalytics | None, label: str, quick: bool, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    batch = 2_000 if quick else 10_000
    nb = 4 if quick else 11
    k = 300 if quick else 3_000
    now = time.time()
    today = int(now) // DAY * DAY
    batches = [events(batch, today, seed=s) for s in range(nb)]
    ours = rate(hub.analytics.track_many, batches)
    theirs = rate(base.track_many, batches) if base else None
    rows.append(
        rate_row(
            f"{label} track_many, batches of {batch:,}"
            + (" vs redis-py pipeline (HINCRBY x4 + PFADD)" if base else " (report)"),
            ours,
            theirs,
            target=3.0 if base else None,
        )
    )
    log(
        f"  {label} batched: ours {ours:,.0f} ev/s"
        + (f", redis-py {theirs:,.0f} ev/s" if theirs else "")
    )
    singles = events(k + 50, today, seed=99)
    o = latencies(lambda i: hub.analytics.track(**singles[i]), k)
    b = latencies(lambda i: base.track(singles[i]), k) if base else None
    rows.append(
        lat_row(
            f"{label} single track"
            + (" vs one redis-py pipeline per event" if base else " (report)"),
            o,
            b,
            events_per_s=1e6 / _pct(o, 0.5),
        )
    )
    per_day = 3_000 if quick else 20_000
    fill_days(hub.analytics.track_many, today, per_day)
    if base:
        fill_days(base.track_many, today, per_day)
    since = today - 29 * DAY
    o = latencies(lambda i: hub.analytics.uniques("open", since, today), k)
    b = latencies(lambda i: base.uniques("open", since, today), k) if base else None
    est = hub.analytics.uniques("open", since, today)
    rows.append(
        lat_row(
            f"{label} uniques over 30 days ({per_day:,} users a day; p50 goal < 2 ms)"
            + (" vs redis-py PFCOUNT of 30 keys" if base else ""),
            o,
            b,
            estimate=est,
            exact=30 * per_day,
        )
    )
    exact = 30 * per_day
    log(f"  {label} uniques/30 days: p50 {_pct(o, 0.5):.0f} us (estimate {est:,} of {exact:,})")
    for i in range(1000):
        hub.trending.bump("board", f"item {i}", float(i % 97 + 1))
        if base:
            base.bump("board", f"item {i}", float(i % 97 + 1))
    o = latencies(lambda i: hub.trending.top("board", 10), k)
    b = latencies(lambda i: base.top("board", 10), k) if base else None
    rows.append(
        lat_row(
            f"{label} trending top(10) of 1,000 items (p50 goal < 1 ms)"
            + (" vs redis-py ZREVRANGE WITHSCORES" if base else ""),
            o,
            b,
        )
    )
    log(f"  {label} top(10): p50 {_pct(o, 0.5):.0f} us")
    return rows


def others(url: str | None, quick: bool, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """The rows of the other analytics modules (rate limits, sessions, flags, chat)."""
    rows: list[dict[str, Any]] = []
    for name in ("analytics_limits", "analytics_chat"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        rows += mod.run(url, quick=quick, log=log)
    return rows


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if url:
        r = redis.Redis.from_url(url)
        ns = "ba" + uuid.uuid4().hex[:8]
        hub = zerolag.open(url, namespace=ns)
        prefix = f"bab{ns}:"
        try:
            rows += suite(hub, RedisAnalytics(r, prefix), "redis", quick, log)
        finally:
            hub.clear()
            hub.close()
            names = list(r.scan_iter(match=f"{prefix}*", count=1000))
            for i in range(0, len(names), 1000):
                r.unlink(*names[i : i + 1000])
    with tempfile.TemporaryDirectory() as root:
        hub = zerolag.open(root=root, namespace="bench")
        rows += suite(hub, None, "embedded", quick, log)
        hub.close()
    rows += others(url, quick, log)
    return rows
