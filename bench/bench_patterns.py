"""The `patterns` suite: zerolag's pattern memory (``hub.patterns``) against a redis-py
design in redis-py (bench/baseline_patterns.py), on the same redis-server in one run; then
the embedded backend. See bench/README.md.

Operations (one call each, best of two runs): store a pattern, track an issue, record a fix
outcome. Both sides anonymise every string they store (zerolag in Rust, the baseline with
compiled Python regexes, as a Python anonymisation layer would); a second comparison runs
the baseline without anonymisation, to show the store alone.

Insights: latency of one ``insights(repo)`` call over a repository holding 10,000 records
(5,500 patterns, 3,000 issue occurrences of 200 rules over 14 days, 1,000 fix outcomes, 500
sessions), p50 and p99 over repeated calls.
"""

from __future__ import annotations

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
from baseline_patterns import RedisPatternMemory  # noqa: E402

# For bench/run.py (see bench/README.md): whether run() needs a Redis URL, and where
# a run of all suites runs this one (ascending).
NEEDS_REDIS = True
ORDER = 70

REPO = "acme/api"
DAY = 86400.0


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def pattern_data(i: int) -> dict[str, Any]:
    return {
        "rule": f"naming_{i % 40}",
        "example": f"def get_user_{i}(session, user_id):\n    return session.get(User, user_id)",
        "files": [f"src/service_{i % 17}.py", "src/models.py"],
        "note": "functions use snake_case; getters return None instead of raising",
    }


def message(i: int) -> str:
    return f"line {i % 300 + 1} is too long ({100 + i % 40} > 100 characters)"


def fix_text(i: int) -> str:
    return f"wrap the call arguments over several lines (suggestion {i})"


class Ours:
    def __init__(self, pm: Any) -> None:
        self.pm = pm

    def store(self, i: int) -> None:
        self.pm.store(REPO, f"type_{i % 8}", pattern_data(i), confidence=(i % 100) / 100)

    def track(self, i: int, at: float | None = None) -> None:
        self.pm.track_issue(
            REPO,
            f"R{i % 200}",
            file=f"src/m{i % 50}.py",
            severity="warning",
            message=message(i),
            at=at,
        )

    def fix(self, i: int) -> None:
        self.pm.record_fix(REPO, f"R{i % 30}", fix=fix_text(i), accepted=i % 3 != 0, feedback="ok")

    def session(self, i: int) -> None:
        self.pm.record_session(REPO, {"reviewed": i, "learned": ["naming", "imports"]})

    def insights(self) -> Any:
        return self.pm.insights(REPO)


class Base:
    def __init__(self, m: RedisPatternMemory) -> None:
        self.m = m

    def store(self, i: int) -> None:
        self.m.store_pattern(REPO, f"type_{i % 8}", pattern_data(i), (i % 100) / 100)

    def track(self, i: int, at: float | None = None) -> None:
        self.m.track_issue(REPO, f"R{i % 200}", f"src/m{i % 50}.py", "warning", message(i), at)

    def fix(self, i: int) -> None:
        self.m.record_fix_outcome(REPO, f"R{i % 30}", fix_text(i), i % 3 != 0, "ok")

    def session(self, i: int) -> None:
        self.m.record_learning_session(REPO, {"reviewed": i, "learned": ["naming", "imports"]})

    def insights(self) -> Any:
        return self.m.get_insights(REPO)


def ops_per_s(fn: Any, n: int, offset: int) -> float:
    t0 = time.perf_counter()
    for i in range(offset, offset + n):
        fn(i)
    return n / (time.perf_counter() - t0)


def best(fn: Any, n: int) -> float:
    return max(ops_per_s(fn, n, k * n) for k in range(2))


def fill(impl: Any, records: int) -> None:
    """`records` records: 55% patterns, 30% issue occurrences over 14 days, 10% fixes, 5%
    sessions."""
    now = time.time()
    for i in range(int(records * 0.55)):
        impl.store(i)
    for i in range(int(records * 0.30)):
        impl.track(i, at=now - (i % 14) * DAY)
    for i in range(int(records * 0.10)):
        impl.fix(i)
    for i in range(int(records * 0.05)):
        impl.session(i)


def latencies(fn: Any, k: int) -> list[float]:
    fn()
    out = []
    for _ in range(k):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def row(name: str, ours: float, base: float | None, unit: str, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"name": name, "ours": ours, "baseline": base, "unit": unit}
    d["ratio"] = ours / base if base else None
    d.update(kw)
    return d


def lat_row(name: str, ours: list[float], base: list[float] | None, **kw: Any) -> dict[str, Any]:
    p50, b50 = _pct(ours, 0.5), (_pct(base, 0.5) if base else None)
    d = row(name, p50, b50, "us p50", **kw)
    d["ratio"] = (b50 / p50) if b50 else None
    d["ours_p50_us"], d["ours_p99_us"] = p50, _pct(ours, 0.99)
    if base:
        d["baseline_p50_us"], d["baseline_p99_us"] = b50, _pct(base, 0.99)
    return d


OPS = (("store pattern", "store"), ("track issue", "track"), ("record fix outcome", "fix"))


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    n = 300 if quick else 3_000
    records = 1_000 if quick else 10_000
    k = 30 if quick else 300
    rows: list[dict[str, Any]] = []
    if url:
        r = redis.Redis.from_url(url)
        ns = "bp" + uuid.uuid4().hex[:8]
        hub = zerolag.open(url, namespace=ns)
        ours = Ours(hub.patterns)
        base = Base(RedisPatternMemory(r, prefix=f"bpa{ns}"))
        plain = Base(RedisPatternMemory(r, prefix=f"bpp{ns}", anonymize=False))
        for label, op in OPS:
            o = best(getattr(ours, op), n)
            b = best(getattr(base, op), n)
            p = best(getattr(plain, op), n)
            rows.append(
                row(
                    f"redis {label} vs a redis-py pattern store (both anonymise)",
                    o,
                    b,
                    "ops/s",
                    target=3.0,
                )
            )
            rows.append(
                row(f"redis {label} vs a redis-py pattern store (no anonymiser)", o, p, "ops/s")
            )
            log(f"  {label}: ours {o:,.0f}, redis-py {b:,.0f}, redis-py plain {p:,.0f} ops/s")
        hub.clear()
        r.delete(*(r.keys(f"bp?{ns}*") or [b"x"]))
        # insights over `records` records
        fill(ours, records)
        fill(base, records)
        ol = latencies(ours.insights, k)
        bl = latencies(base.insights, k)
        rows.append(
            lat_row(
                f"redis insights over {records:,} records vs redis-py",
                ol,
                bl,
                target_p50_us=5000,
                records=records,
            )
        )
        log(
            f"  insights over {records:,} records p50/p99 us: ours {_pct(ol, 0.5):.0f}/"
            f"{_pct(ol, 0.99):.0f}, redis-py {_pct(bl, 0.5):.0f}/{_pct(bl, 0.99):.0f}"
        )
        hub.clear()
        hub.close()
        r.delete(*(r.keys(f"bp?{ns}*") or [b"x"]))
    # embedded
    root = tempfile.mkdtemp(prefix="zerolag-bench-patterns-")
    hub = zerolag.open(root=root, namespace="bench")
    ours = Ours(hub.patterns)
    for label, op in OPS:
        o = best(getattr(ours, op), n)
        rows.append(row(f"embedded {label}", o, None, "ops/s"))
        log(f"  embedded {label}: {o:,.0f} ops/s")
    hub.clear()
    fill(ours, records)
    ol = latencies(ours.insights, k)
    d = lat_row(f"embedded insights over {records:,} records", ol, None, target_p50_us=5000)
    rows.append(d)
    log(f"  embedded insights p50/p99 us: {_pct(ol, 0.5):.0f}/{_pct(ol, 0.99):.0f}")
    hub.close()
    return rows
