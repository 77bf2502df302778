"""``hub.limits`` on every backend: the exact sliding window against a pure-Python model
(sequentially, and under threads and processes checking at once: never more than ``limit``
admitted in any window), peek and reset, validation, keys, and the async twin. Time is the
explicit ``now=`` argument: no test waits for a window to pass.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner, data_keys

T0 = float(int(time.time()))


class Model:
    """The exact sliding window, written plainly (times in integer milliseconds): an
    admission at ``t`` counts at ``now`` while ``now - t < window``."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, round(window * 1000)
        self.log: list[int] = []

    def check(self, at: float, cost: int, admit: bool = True) -> tuple[bool, int, float, float]:
        now = round(at * 1000)
        live = sorted(t for t in self.log if now - t < self.window)
        if admit:
            self.log = live
        n = len(live)
        allowed = n + cost <= self.limit
        retry = 0
        if not allowed:
            retry = max(0, live[n + cost - self.limit - 1] + self.window - now)
        if allowed and admit:
            self.log += [now] * cost
        newest = max(live + ([now] if allowed else []), default=None)
        reset = 0 if newest is None else max(0, newest + self.window - now)
        return allowed, self.limit - (n + cost if allowed else n), reset / 1000, retry / 1000


def test_a_random_run_matches_the_model(hub: Any) -> None:
    rng = random.Random(5)
    m = Model(7, 3.0)
    now = T0
    for i in range(400):
        now = round(now + rng.choice([0, 0, 0.05, 0.3, 0.9, 2.5]), 3)
        cost = rng.randint(1, 3)
        peek = rng.random() < 0.2
        want = m.check(now, cost, admit=not peek)
        f = hub.limits.peek if peek else hub.limits.check
        d = f("user:1/search", 7, 3.0, cost, now=now)
        got = (d.allowed, d.remaining, round(d.reset_after, 3), round(d.retry_after, 3))
        assert got == want, (i, now, cost, peek)
        assert bool(d) is d.allowed and d.limit == 7
        assert len(m.log) <= 7


def test_the_window_edges_retry_and_reset(hub: Any) -> None:
    lim = hub.limits
    for i in range(3):
        assert lim.check("ip:10.0.0.1", 3, 10, now=T0 + i).allowed
    d = lim.check("ip:10.0.0.1", 3, 10, now=T0 + 5)
    assert (d.allowed, d.remaining, d.retry_after, d.reset_after) == (False, 0, 5.0, 7.0)
    assert "allowed=False" in repr(d)
    assert not lim.check("ip:10.0.0.1", 3, 10, now=T0 + 9.999).allowed
    assert lim.peek("ip:10.0.0.1", 3, 10, now=T0 + 10).remaining == 0
    assert lim.check("ip:10.0.0.1", 3, 10, now=T0 + 10).allowed
    # A request of cost 3 waits for all three entries of the window to leave.
    d = lim.check("ip:10.0.0.1", 3, 10, 3, now=T0 + 10.5)
    assert (d.allowed, d.retry_after) == (False, 9.5)
    assert lim.reset("ip:10.0.0.1") and not lim.reset("ip:10.0.0.1")
    d = lim.check("ip:10.0.0.1", 3, 10, 3, now=T0 + 10.5)
    assert d.allowed and d.remaining == 0 and d.reset_after == 10.0
    # Keys are separate windows; the log never holds more than the limit.
    assert lim.peek("ip:10.0.0.2", 3, 10, now=T0).remaining == 2


def test_large_costs_and_limits(hub: Any) -> None:
    lim = hub.limits
    d = lim.check("bulk", 100_000, 60, 60_000, now=T0)
    assert d.allowed and d.remaining == 40_000
    assert not lim.check("bulk", 100_000, 60, 40_001, now=T0 + 1).allowed
    assert lim.check("bulk", 100_000, 60, 40_000, now=T0 + 1).remaining == 0
    d = lim.check("bulk", 100_000, 60, 1, now=T0 + 2)
    assert (d.allowed, d.retry_after) == (False, 58.0)
    assert lim.check("bulk", 100_000, 60, 60_000, now=T0 + 60).allowed


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("k", 0, 1.0), "limit"),
        (("k", -3, 1.0), "limit"),
        (("k", 100_001, 1.0), "limit"),
        (("k", 5, 0.0), "window_s"),
        (("k", 5, -1.0), "window_s"),
        (("k", 5, float("nan")), "window_s"),
        (("k", 5, 1.0, 0), "cost"),
        (("k", 5, 1.0, -1), "cost"),
        (("k", 5, 1.0, 6), "cost 6 is more than the limit"),
        (("*", 5, 1.0), "rate-limit key"),
        (("a b", 5, 1.0), "rate-limit key"),
        (("x" * 129, 5, 1.0), "rate-limit key"),
        (("../k", 5, 1.0), "rate-limit key"),
    ],
)
def test_bad_numbers_and_keys_are_refused(hub: Any, args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(zerolag.ValidationError, match=match):
        hub.limits.check(*args)
    with pytest.raises(zerolag.ValidationError, match=match):
        hub.limits.peek(*args)
    with pytest.raises(zerolag.ValidationError, match="now"):
        hub.limits.check("k", 5, 1.0, now=-1)
    assert hub.health().by_capability["limits"] == 0


def test_keys_follow_the_schema_and_go_when_reset(
    hub: Any, backend: str, store_servers: list[Any]
) -> None:
    if backend == "embedded":
        pytest.skip("Redis keys")
    hub.limits.check("user:42/search", 5, 60)
    assert data_keys(store_servers, hub.namespace) == {
        f"zl:{{{hub.namespace}:limits}}:w:user:42/search"
    }
    assert hub.health().by_capability["limits"] == 1
    # The log's time to live (server clock) is the time its newest entry has left.
    key = f"zl:{{{hub.namespace}:limits}}:w:user:42/search"
    server = next(x for x in store_servers if x.keys(key))
    assert 0 < server.command("PTTL", key) <= 60_000
    hub.limits.reset("user:42/search")
    assert data_keys(store_servers, hub.namespace) == set()


# ---- many threads in many processes at once --------------------------------------------

PROCS, THREADS, PHASES, PER_PHASE = 2, 3, 10, 6
LIMIT, WINDOW, STEP = 10, 40.0, 10.0


def _requests(proc: int, thread: int, phase: int) -> list[int]:
    """The costs one thread asks for in one phase (reproducible in the parent)."""
    rng = random.Random(proc * 10_000 + thread * 100 + phase)
    return [rng.choice([1, 1, 1, 2, 3]) for _ in range(PER_PHASE)]


def _worker(
    url: str | None, root: str, ns: str, t0: float, proc: int, barrier: Any, out: Any
) -> None:
    hub = zerolag.open(url, root=root, namespace=ns)
    got: dict[tuple[int, int], list[bool]] = {}

    def run(thread: int) -> None:
        for phase in range(PHASES):
            barrier.wait(timeout=60)
            now = t0 + phase * STEP
            got[(thread, phase)] = [
                hub.limits.check("shared", LIMIT, WINDOW, c, now=now).allowed
                for c in _requests(proc, thread, phase)
            ]

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hub.close()
    out.put((proc, got))


def test_threads_and_processes_never_pass_the_limit(
    hub: Any, store_url: str | None, tmp_path: Path
) -> None:
    """Every thread of every process checks the same key at the same explicit time in each
    phase (a barrier between phases keeps their order): the model says how much room each
    phase has, so the admitted cost must fill it exactly as far as the requests allow, every
    refused request must not have fitted, and no window holds more than the limit."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCS * THREADS)
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker, args=(store_url, str(tmp_path), hub.namespace, T0, p, barrier, out)
        )
        for p in range(PROCS)
    ]
    for p in procs:
        p.start()
    results = {}
    for _ in procs:
        proc, got = out.get(timeout=300)
        results[proc] = got
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    admitted: list[tuple[float, int]] = []
    for phase in range(PHASES):
        now = T0 + phase * STEP
        used = sum(c for t, c in admitted if now - t < WINDOW)
        room = LIMIT - used
        asked = [
            (c, results[p][(t, phase)][i])
            for p in range(PROCS)
            for t in range(THREADS)
            for i, c in enumerate(_requests(p, t, phase))
        ]
        took = sum(c for c, ok in asked if ok)
        assert took <= room, (phase, took, room)
        # A request was refused only if it did not fit in what was left at the end.
        for c, ok in asked:
            assert ok or took + c > room, (phase, c, took, room)
        admitted += [(now, c) for c, ok in asked if ok]
    # The invariant itself: no window of WINDOW seconds holds more than LIMIT.
    for start, _ in admitted:
        inside = sum(c for t, c in admitted if 0 <= t - start < WINDOW)
        assert inside <= LIMIT
    assert sum(c for _, c in admitted) >= LIMIT * (PHASES * STEP // WINDOW)


def test_the_async_twin(async_hub: Any, arun: AsyncRunner) -> None:
    async def go() -> None:
        lim = async_hub.limits
        ds = [await lim.check("k", 2, 5.0, now=T0) for _ in range(3)]
        assert [d.allowed for d in ds] == [True, True, False]
        assert (await lim.peek("k", 2, 5.0, now=T0 + 5)).allowed
        assert await lim.reset("k")

    arun(go())
