"""``hub.analytics`` on every backend: totals, day and hour counts, counts by a property,
unique users (a HyperLogLog with Redis's own algorithm: the embedded store's estimate equals
Redis's ``PFCOUNT`` for the same users, and its stored blob is a Redis HyperLogLog), ranges
merged over days, retention with an explicit clock, bad input, and the async twin.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner

DAY = 86400
HOUR = 3600
# Midnight UTC of today: Redis keys expire in real time, so the data is written near now.
T0 = int(time.time()) // DAY * DAY


def test_counts_by_day_and_hour(hub: Any) -> None:
    a = hub.analytics
    a.track("signup", at=T0 + 10)
    a.track("signup", "u1", at=T0 + HOUR + 5)
    assert a.track_many(["login", {"event": "signup", "at": T0 - DAY + 7}, {"event": "login"}]) == 3
    assert a.counts("signup", T0 - DAY, T0, now=T0 + 2 * HOUR) == [(T0 - DAY, 1), (T0, 2)]
    hours = a.counts("signup", T0, T0 + 2 * HOUR - 1, by="hour")
    assert hours == [(T0, 1), (T0 + HOUR, 1)]
    assert a.counts("nothing", T0, T0) == [(T0, 0)]
    default = a.counts("signup")
    assert len(default) == 30 and default[-1][0] == int(time.time()) // DAY * DAY
    assert len(a.counts("signup", by="hour")) == 24


def test_props_events_and_top_events(hub: Any) -> None:
    a = hub.analytics
    a.track_many(
        [
            {"event": "buy", "user": "ana", "props": {"plan": "pro", "n": 2}, "at": T0 + 1},
            {"event": "buy", "user": 7, "props": {"plan": "free", "gift": True}, "at": T0 + 2},
            {"event": "buy", "user": "bo", "props": {"plan": "pro"}, "at": T0 + 3},
            {"event": "view", "at": T0 + 4},
        ]
    )
    a.track("view", props={"plan": "pro"}, at=T0 - DAY)
    assert a.counts("buy", T0, T0, by_prop="plan") == {"pro": 2, "free": 1}
    assert list(a.counts("buy", T0, T0, by_prop="plan")) == ["pro", "free"]
    assert a.counts("buy", T0, T0, by_prop="gift") == {"true": 1}
    assert a.counts("view", T0 - DAY, T0, by_prop="plan") == {"pro": 1}
    assert a.events() == {"buy": 3, "view": 2}
    assert a.events(T0, T0) == {"buy": 3, "view": 1}
    assert a.top_events(1) == [("buy", 3)]
    assert a.top_events(5, T0 - DAY, T0 - DAY) == [("view", 1)]


def test_uniques_merge_over_days(hub: Any) -> None:
    a = hub.analytics
    for d in range(3):
        a.track_many(
            [{"event": "open", "user": f"u{i}", "at": T0 - d * DAY + i} for i in range(d, 100 + d)]
        )
    # An estimate (0.81 % standard error); the same on every backend (see the PFCOUNT test).
    assert abs(a.uniques("open", T0, T0) - 100) <= 2
    # 102 distinct users over the three days (u0..u101), merged across the days.
    assert abs(a.uniques("open", T0 - 2 * DAY, T0) - 102) <= 2
    assert a.uniques("open", T0 - 2 * DAY, T0) != a.uniques("open", T0, T0)
    assert a.uniques("open", T0 - 9 * DAY, T0 - 3 * DAY) == 0
    assert a.uniques("nobody") == 0


def test_buckets_expire_by_the_explicit_clock(
    hub: Any, backend: str, store_servers: list[Any], namespace: str
) -> None:
    a = hub.analytics
    assert a.retention() == 90
    assert a.set_retention(3) == 3
    assert a.retention() == 3
    a.track("e", "u", {"p": "v"}, at=T0 + 1)
    assert a.counts("e", T0, T0, now=T0 + 3 * DAY + 1) == [(T0, 1)]
    gone = T0 + 4 * DAY  # the end of the day plus three days
    assert a.counts("e", T0, T0, now=gone) == [(T0, 0)]
    assert a.counts("e", T0, T0, by="hour", now=gone)[0] == (T0, 0)
    assert a.uniques("e", T0, T0, now=gone) == 0
    assert a.counts("e", T0, T0, by_prop="p", now=gone) == {}
    assert a.events(T0, T0, now=gone) == {}
    assert a.events(now=gone) == {"e": 1}, "the all-time total does not expire"
    if backend == "embedded":
        before = hub.health().by_capability["analytics"]
        assert a.sweep(now=gone - 1) == 0
        assert a.sweep(now=gone) == 4  # the day, hour, property and users rows
        assert hub.health().by_capability["analytics"] == before - 4
    else:
        prefix = f"zl:{{{namespace}:analytics}}:"
        date = time.strftime("%Y%m%d", time.gmtime(T0))
        buckets = [f"{prefix}d:{date}", f"{prefix}h:{date}:e", f"{prefix}p:{date}:e"]
        buckets.append(f"{prefix}u:{date}:e")
        for key in buckets:
            owner = next(s for s in store_servers if s.keys(key.replace("*", r"\*")))
            assert owner.command("PEXPIRETIME", key) == gone * 1000, key
        assert a.sweep(now=gone) == 0
    # An event whose day has already expired counts in the totals only.
    a.track("e", at=T0 - 10 * DAY)
    assert a.events() == {"e": 2}
    assert a.counts("e", T0 - 10 * DAY, T0 - 10 * DAY, now=T0 - 10 * DAY) == [(T0 - 10 * DAY, 0)]


def _users(n: int, seed: str = "") -> list[str]:
    return [f"user-{seed}{i}" for i in range(n)]


def test_embedded_estimate_equals_redis_pfcount(tmp_path: Path, redis_server: Any) -> None:
    with zerolag.open(root=tmp_path, namespace="hll") as hub:
        for n in (1, 2, 10, 100, 1000, 5000, 20000, 100000):
            users = _users(n, f"{n}-")
            for i in range(0, n, 10000):
                batch = users[i : i + 10000]
                hub.analytics.track_many([{"event": f"e{n}", "user": u, "at": T0} for u in batch])
                redis_server.command("PFADD", f"hll-test:{n}", *batch)
            ours = hub.analytics.uniques(f"e{n}", T0, T0)
            assert ours == redis_server.command("PFCOUNT", f"hll-test:{n}"), n
        # Merged over keys, too (PFCOUNT of several keys merges server-side).
        hub.analytics.track_many(
            [{"event": "e10", "user": u, "at": T0 - DAY} for u in _users(1000, "1000-")]
        )
        merged = redis_server.command("PFCOUNT", "hll-test:10", "hll-test:1000")
        assert hub.analytics.uniques("e10", T0 - DAY, T0) == merged
        hub.clear()
    for n in (1, 2, 10, 100, 1000, 5000, 20000, 100000):
        redis_server.command("DEL", f"hll-test:{n}")


def test_the_stored_blob_is_a_redis_hyperloglog(tmp_path: Path, redis_server: Any) -> None:
    with zerolag.open(root=tmp_path, namespace="blob") as hub:
        hub.analytics.track_many([{"event": "e", "user": u, "at": T0} for u in _users(3000)])
        ours = hub.analytics.uniques("e", T0, T0)
        con = sqlite3.connect(tmp_path / ".zerolag" / "zerolag.db")
        try:
            (blob,) = con.execute("SELECT hll FROM analytics_users WHERE ns = 'blob'").fetchone()
        finally:
            con.close()
        assert blob[:4] == b"HYLL" and len(blob) == 12304
        redis_server.command("SET", "hll-blob", blob)
        try:
            assert redis_server.command("PFCOUNT", "hll-blob") == ours
            redis_server.command("PFADD", "hll-blob", *_users(3000))  # nothing new
            assert redis_server.command("PFCOUNT", "hll-blob") == ours
        finally:
            redis_server.command("DEL", "hll-blob")
        hub.clear()


def test_a_million_uniques_within_two_percent(hub: Any) -> None:
    a = hub.analytics
    n = 1_000_000
    for start in range(0, n, 10_000):
        a.track_many(
            [{"event": "visit", "user": f"v{i}", "at": T0} for i in range(start, start + 10_000)]
        )
    got = a.uniques("visit", T0, T0)
    assert abs(got - n) / n < 0.02, got
    assert a.counts("visit", T0, T0) == [(T0, n)]


def test_bad_input_is_refused(hub: Any) -> None:
    a = hub.analytics
    for bad in ("", "a b", "x*", "a\nb", "{t}", "é" * 100):
        with pytest.raises(zerolag.ValidationError):
            a.track(bad)
    with pytest.raises(zerolag.ValidationError):
        a.track("e", "")
    with pytest.raises(zerolag.ValidationError):
        a.track("e", props={"bad name": "x"})
    with pytest.raises(zerolag.ValidationError):
        a.track("e", props={str(i): "x" for i in range(9)})
    with pytest.raises(zerolag.ValidationError):
        a.track("e", props={"p": "a\nb"})
    with pytest.raises(TypeError):
        a.track("e", props={"p": 1.5})
    with pytest.raises(zerolag.ValidationError):
        a.track_many([{"event": "e", "usr": "typo"}])
    with pytest.raises(zerolag.ValidationError):
        a.track_many(["ok"] * 10_001)
    with pytest.raises(zerolag.ValidationError):
        a.counts("e", T0, T0 - 1)
    with pytest.raises(zerolag.ValidationError):
        a.counts("e", T0 - 500 * DAY, T0)
    with pytest.raises(zerolag.ValidationError):
        a.counts("e", by="week")  # type: ignore[call-overload]
    with pytest.raises(zerolag.ValidationError):
        a.set_retention(0)
    assert a.events() == {}, "a refused call wrote something"


def test_async_analytics(async_hub: Any, arun: AsyncRunner) -> None:
    async def main() -> None:
        a = async_hub.analytics
        await a.track("e", "u", at=T0)
        assert await a.track_many([{"event": "e", "user": "v", "at": T0}]) == 1
        assert await a.counts("e", T0, T0) == [(T0, 2)]
        assert await a.uniques("e", T0, T0) == 2
        assert await a.top_events() == [("e", 2)]

    arun(main())
