"""hub.jobs on every backend: statuses, order, delays, cancel, idempotency, progress, retries,
dead jobs, failing and hanging handlers, async handlers and API, bad input, cross-process."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jobs_backends
import pytest
import zerolag
from conftest import data_keys
from zerolag import ConflictError, NotFoundError, ValidationError

# Every test here also runs with partitions=4, on the cluster and on the embedded store.
backend = jobs_backends.backend
partitions = jobs_backends.partitions
store_url = jobs_backends.store_url
store_servers = jobs_backends.store_servers

HERE = Path(__file__).resolve().parent


def run_until(worker: zerolag.Worker, done: Callable[[], bool], limit: float = 30.0) -> None:
    """Runs ``worker`` on a thread until ``done()`` (checked every 20 ms), then stops it."""
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    try:
        end = time.monotonic() + limit
        while not done():
            assert time.monotonic() < end, "the worker did not get there in time"
            time.sleep(0.02)
    finally:
        worker.stop()
        t.join(30)
    assert not t.is_alive()


def test_lifecycle_statuses_and_result(hub: zerolag.Hub) -> None:
    job = hub.jobs.enqueue("add", {"a": 1, "b": 2}, timeout=timedelta(seconds=60))
    assert (job.status, job.attempts, job.kind, job.payload) == (
        "pending",
        0,
        "add",
        {"a": 1, "b": 2},
    )
    assert job.timeout == 60 and job.max_attempts == 3 and job.backoff == ("exponential", 1.0)
    (claim,) = hub.jobs.claim("add", worker="w1")
    assert (claim.id, claim.attempt, claim.payload) == (job.id, 1, {"a": 1, "b": 2})
    running = hub.jobs.get(job.id)
    assert (running.status, running.attempts, running.worker) == ("running", 1, "w1")
    assert hub.jobs.claim("add") == []
    hub.jobs.complete(claim, {"sum": 3})
    done = hub.jobs.get(job.id)
    assert (done.status, done.result, done.error) == ("succeeded", {"sum": 3}, None)
    assert done.finished_at is not None and done.started_at is not None
    assert "succeeded" in repr(done)
    with pytest.raises(ConflictError):
        hub.jobs.complete(claim, 4)  # finished: the token is stale
    assert hub.jobs.get(job.id).result == {"sum": 3}
    assert hub.jobs.get_many([job.id, "nope"])[1] is None


def test_priority_first_then_fifo(hub: zerolag.Hub) -> None:
    # The order is promised within a partition: one key puts every job in one (scaling.md).
    one = "one-partition"
    order = [(0, "a"), (5, "b"), (-1, "c"), (5, "d"), (0, "e"), (1000, "f")]
    ids = {}
    for prio, name in order:
        ids[hub.jobs.enqueue("k", name, priority=prio, key=one).id] = name
    hub.jobs.enqueue("other", "x", priority=10**6, key=one)  # another kind is not claimed
    claims = hub.jobs.claim(["k"], count=10)
    assert [c.payload for c in claims] == ["f", "b", "d", "a", "e", "c"]
    # Several kinds at once: merged by priority, then FIFO.
    hub.jobs.enqueue("k", "k1", priority=1, key=one)
    hub.jobs.enqueue("j", "j1", priority=1, key=one)
    hub.jobs.enqueue("j", "j2", priority=2, key=one)
    got = hub.jobs.claim(["k", "j", "other"], count=4)
    assert [c.payload for c in got] == ["x", "j2", "k1", "j1"]


def test_delayed_jobs_never_run_early(hub: zerolag.Hub) -> None:
    late = hub.jobs.enqueue("k", "late", delay=0.4)
    at = hub.jobs.enqueue(
        "k", "at", run_at=datetime.now(timezone.utc) + timedelta(seconds=0.2), priority=-5
    )
    now = hub.jobs.enqueue("k", "now", priority=-9)
    assert late.run_at > now.run_at and late.status == "pending"
    assert [c.id for c in hub.jobs.claim("k", count=5)] == [now.id]
    seen = []
    while len(seen) < 2:
        for c in hub.jobs.claim("k", count=5, block_ms=3000):
            assert time.time() >= hub.jobs.get(c.id).run_at - 0.001  # never before its time
            seen.append(c.id)
    assert seen == [at.id, late.id]


def test_cancel(hub: zerolag.Hub) -> None:
    a = hub.jobs.enqueue("k", 1)
    b = hub.jobs.enqueue("k", 2, delay=60)
    c = hub.jobs.enqueue("k", 3)
    assert hub.jobs.cancel(a.id) is True and hub.jobs.cancel(b.id) is True
    assert hub.jobs.cancel(a.id) is False
    assert hub.jobs.get(a.id).status == "cancelled" and hub.jobs.get(b.id).status == "cancelled"
    (claim,) = hub.jobs.claim("k", count=5)
    assert claim.id == c.id
    assert hub.jobs.cancel(c.id) is True  # running: the worker's result is dropped
    with pytest.raises(ConflictError):
        hub.jobs.complete(claim, "late")
    with pytest.raises(ConflictError):
        hub.jobs.heartbeat(claim)
    assert hub.jobs.get(c.id).status == "cancelled" and hub.jobs.get(c.id).result is None
    with pytest.raises(NotFoundError):
        hub.jobs.cancel("missing-job")
    assert hub.jobs.claim("k", count=5) == []


def test_enqueue_many_and_idempotency(hub: zerolag.Hub) -> None:
    first = hub.jobs.enqueue("k", {"v": 1}, idempotency_key="order-42")
    again = hub.jobs.enqueue("k", {"v": 2}, idempotency_key="order-42")
    assert again.id == first.id and again.payload == {"v": 1}
    jobs = hub.jobs.enqueue_many(
        [
            {"kind": "k", "payload": i, "priority": i % 3, "idempotency_key": f"b{i % 5}"}
            for i in range(10)
        ]
        + [{"kind": "k", "payload": "dup", "idempotency_key": "order-42"}]
    )
    assert len(jobs) == 11
    assert len({j.id for j in jobs}) == 6  # 5 keys in the batch + the existing one
    assert jobs[10].id == first.id
    assert [j.payload for j in jobs[5:10]] == [0, 1, 2, 3, 4]
    claimed = hub.jobs.claim("k", count=100)
    assert len(claimed) == 6
    # A finished job still holds its key; purge releases it.
    for c in claimed:
        hub.jobs.complete(c)
    assert hub.jobs.enqueue("k", 0, idempotency_key="order-42").id == first.id
    assert hub.jobs.purge() == 6
    fresh = hub.jobs.enqueue("k", 0, idempotency_key="order-42")
    assert fresh.id != first.id
    with pytest.raises(NotFoundError):
        hub.jobs.get(first.id)


def test_progress_visible_while_running(hub: zerolag.Hub) -> None:
    job = hub.jobs.enqueue("work", {"steps": 3})
    gate = threading.Event()

    def work(ctx: zerolag.JobContext) -> str:
        assert ctx.progress({"done": 1, "of": ctx.payload["steps"]})
        gate.wait(10)
        ctx.report(1.0)
        return "ok"

    w = hub.jobs.worker({"work": work}, visibility=5)

    def seen() -> bool:
        j = hub.jobs.get(job.id)
        if j.progress == {"done": 1, "of": 3}:
            assert j.status == "running"
            gate.set()
        return j.status == "succeeded"

    run_until(w, seen)
    j = hub.jobs.get(job.id)
    assert (j.progress, j.result) == (1.0, "ok")


def test_retries_back_off_then_dead_with_last_error(hub: zerolag.Hub) -> None:
    job = hub.jobs.enqueue("k", None, max_attempts=3, backoff=("exponential", 0.2))
    gaps = []
    for attempt in (1, 2, 3):
        (c,) = hub.jobs.claim("k", block_ms=5000)
        assert (c.id, c.attempt) == (job.id, attempt)
        before = time.time()
        hub.jobs.fail(c, f"boom {attempt}")
        j = hub.jobs.get(job.id)
        if attempt < 3:
            assert (j.status, j.error) == ("failed", f"boom {attempt}")
            gaps.append(j.run_at - before)
            assert hub.jobs.claim("k") == []  # not before its backoff
    assert gaps[0] >= 0.2 - 0.002 and gaps[1] >= 0.4 - 0.002  # exponential
    dead = hub.jobs.get(job.id)
    assert (dead.status, dead.attempts, dead.error) == ("dead", 3, "boom 3")
    assert hub.jobs.claim("k", block_ms=300) == []
    # retry=False: dead at once.
    other = hub.jobs.enqueue("k", None, max_attempts=5, backoff=0)
    (c,) = hub.jobs.claim("k")
    hub.jobs.fail(c, "fatal", retry=False)
    assert hub.jobs.get(other.id).status == "dead"


def test_handler_that_raises(hub: zerolag.Hub) -> None:
    calls = []

    def flaky(ctx: zerolag.JobContext) -> int:
        calls.append(ctx.attempt)
        if ctx.attempt < 2:
            raise RuntimeError(f"try {ctx.attempt} failed")
        return ctx.attempt

    def always(ctx: zerolag.JobContext) -> None:
        raise ValueError("bad payload " + str(ctx.payload))

    ok = hub.jobs.enqueue("flaky", None, backoff=0.05)
    bad = hub.jobs.enqueue("always", 7, max_attempts=2, backoff=("fixed", 0.05))
    bad2 = hub.jobs.enqueue("always", 8, max_attempts=1)
    w = hub.jobs.worker({"flaky": flaky, "always": always}, concurrency=2)
    terminal = ("succeeded", "dead")
    run_until(w, lambda: all(hub.jobs.get(j.id).status in terminal for j in (ok, bad, bad2)))
    j = hub.jobs.get(ok.id)
    assert (j.status, j.result, j.attempts, calls) == ("succeeded", 2, 2, [1, 2])
    assert j.error == "RuntimeError: try 1 failed"  # the last failure stays visible
    d = hub.jobs.get(bad.id)
    assert (d.status, d.attempts, d.error) == ("dead", 2, "ValueError: bad payload 7")
    assert hub.jobs.get(bad2.id).attempts == 1
    assert w.stats.failed == 4 and w.stats.succeeded == 1


class _SlowToReturn:
    """The worker's jobs handle, whose ``_finish`` returns 0.2 s after the store applied it:
    what a finisher thread the OS did not schedule for a moment looks like to the worker."""

    def __init__(self, inner: Any, is_async: bool) -> None:
        self._inner, self._is_async = inner, is_async

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _finish(self, items: Any) -> Any:
        if self._is_async:

            async def later() -> Any:
                out = await self._inner._finish(items)
                await asyncio.sleep(0.2)
                return out

            return later()
        out = self._inner._finish(items)
        time.sleep(0.2)
        return out


def _retried_once(hub: zerolag.Hub, n: int) -> tuple[list[Any], dict[str, list[int]]]:
    return [hub.jobs.enqueue("once", i, backoff=0) for i in range(n)], {}


def test_a_retry_due_at_once_is_kept_apart_from_its_first_attempt(hub: zerolag.Hub) -> None:
    # A failed attempt with no backoff is claimable the moment its failure is stored,
    # possibly before the worker has put the first attempt away: the two attempts share a
    # job id and the worker must keep them apart. A mix-up lost the retry's heartbeats (its
    # claim lapsed and it ran twice) and a concurrency slot for good (a burst never ended).
    jobs, runs = _retried_once(hub, 4)

    def once(ctx: zerolag.JobContext) -> int:
        runs.setdefault(ctx.id, []).append(ctx.attempt)
        if ctx.attempt == 1:
            raise RuntimeError("first try")
        time.sleep(0.6)  # outlives the 0.3 s visibility: only heartbeats keep the claim
        return ctx.attempt

    w = hub.jobs.worker({"once": once}, concurrency=8, visibility=0.3)
    w._sync = _SlowToReturn(w._sync, False)
    box: list[zerolag.WorkerStats] = []
    t = threading.Thread(target=lambda: box.append(w.run(burst=True)), daemon=True)
    t.start()
    t.join(60)
    stuck = t.is_alive()
    w.stop()
    t.join(30)
    assert not stuck, "the burst worker did not end"
    assert runs == {j.id: [1, 2] for j in jobs}
    assert [hub.jobs.get(j.id).status for j in jobs] == ["succeeded"] * 4
    assert (box[0].failed, box[0].succeeded, box[0].stale) == (4, 4, 0)


def test_a_retry_due_at_once_in_an_async_worker(hub: zerolag.Hub) -> None:
    jobs, runs = _retried_once(hub, 4)

    async def once(ctx: zerolag.JobContext) -> int:
        runs.setdefault(ctx.id, []).append(ctx.attempt)
        if ctx.attempt == 1:
            raise RuntimeError("first try")
        await asyncio.sleep(0.6)
        return ctx.attempt

    async def main() -> zerolag.WorkerStats:
        w = hub.jobs.worker({"once": once}, concurrency=8, visibility=0.3)
        w._async = _SlowToReturn(w._async, True)
        run = asyncio.ensure_future(w.run_async())
        end = time.monotonic() + 30
        while time.monotonic() < end and any(len(r) < 2 for r in runs.values()):
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # time for a lapsed claim to be taken again
        w.stop()
        return await asyncio.wait_for(run, 30)

    stats = asyncio.run(main())
    assert runs == {j.id: [1, 2] for j in jobs}
    assert [hub.jobs.get(j.id).status for j in jobs] == ["succeeded"] * 4
    assert (stats.failed, stats.succeeded, stats.stale) == (4, 4, 0)


def test_handler_that_hangs_times_out(hub: zerolag.Hub) -> None:
    release = threading.Event()

    def hang(ctx: zerolag.JobContext) -> None:
        release.wait(30)

    async def ahang(ctx: zerolag.JobContext) -> None:
        await asyncio.sleep(30)

    a = hub.jobs.enqueue("hang", None, timeout=0.3, max_attempts=2, backoff=0)
    b = hub.jobs.enqueue("ahang", None, timeout=0.3, max_attempts=1)
    w = hub.jobs.worker({"hang": hang, "ahang": ahang}, concurrency=2, visibility=10)
    try:
        run_until(w, lambda: all(hub.jobs.get(j.id).status == "dead" for j in (a, b)))
    finally:
        release.set()
    for j in (a, b):
        d = hub.jobs.get(j.id)
        assert re.fullmatch(r"timed out after 0\.3 s", d.error or ""), d.error
    assert hub.jobs.get(a.id).attempts == 2


def test_timeout_enforced_by_the_store(hub: zerolag.Hub) -> None:
    # A worker that keeps heart-beating cannot hold a job past its timeout.
    job = hub.jobs.enqueue("k", None, timeout=0.2, max_attempts=2, backoff=0)
    (c,) = hub.jobs.claim("k", visibility=30)
    time.sleep(0.25)
    (again,) = hub.jobs.claim("k", block_ms=2000)
    assert (again.id, again.attempt) == (job.id, 2)
    assert hub.jobs.get(job.id).error == "timed out after 0.2 s"
    with pytest.raises(ConflictError):
        hub.jobs.heartbeat(c)


def test_lost_claim_is_retried_after_visibility(hub: zerolag.Hub) -> None:
    job = hub.jobs.enqueue("k", "x", backoff=0)
    (c1,) = hub.jobs.claim("k", worker="dies", visibility=0.2)
    hub.jobs.heartbeat(c1, visibility=0.2)  # alive for a moment
    assert hub.jobs.claim("k") == []
    (c2,) = hub.jobs.claim("k", worker="other", block_ms=3000)
    assert (c2.id, c2.attempt) == (job.id, 2)
    j = hub.jobs.get(job.id)
    assert j.worker == "other" and "visibility timeout" in (j.error or "")
    with pytest.raises(ConflictError):  # the first worker's claim is stale
        hub.jobs.complete(c1, "late")
    hub.jobs.complete(c2, "fine")
    assert hub.jobs.get(job.id).result == "fine"


def test_worker_burst_concurrency_and_stop(hub: zerolag.Hub) -> None:
    jobs = hub.jobs.enqueue_many([{"kind": "sq", "payload": i} for i in range(200)])
    lock = threading.Lock()
    active = [0, 0]

    def sq(ctx: zerolag.JobContext) -> int:
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        time.sleep(0.001)
        with lock:
            active[0] -= 1
        return int(ctx.payload) ** 2

    w = hub.jobs.worker({"sq": sq}, concurrency=4)
    stats = w.run(burst=True)
    assert stats.succeeded == 200 and 1 <= active[1] <= 4
    results = [j.result for j in hub.jobs.get_many([j.id for j in jobs]) if j]
    assert results == [i * i for i in range(200)]
    # stop() from another thread ends a blocking run().
    w2 = hub.jobs.worker({"sq": sq})
    t = threading.Thread(target=w2.run)
    t.start()
    time.sleep(0.1)
    w2.stop()
    t.join(10)
    assert not t.is_alive()


def test_async_api_and_async_handlers(async_hub: Any, arun: Any) -> None:
    async def main() -> None:
        jobs = async_hub.jobs
        a = await jobs.enqueue("double", 21, priority=1)
        many = await jobs.enqueue_many([{"kind": "double", "payload": i} for i in range(20)])
        assert (await jobs.get(a.id)).status == "pending"

        async def double(ctx: zerolag.JobContext) -> int:
            await ctx.aprogress(0.5)
            await asyncio.sleep(0)
            return int(ctx.payload) * 2

        def sync_double(ctx: zerolag.JobContext) -> int:
            return int(ctx.payload) * 2

        w = jobs.worker({"double": double}, concurrency=8)
        stats = await w.run_async(burst=True)
        assert stats.succeeded == 21
        got = await jobs.get_many([a.id] + [j.id for j in many])
        assert [j.result for j in got] == [42] + [i * 2 for i in range(20)]
        assert got[0].progress == 0.5
        # Sync handlers under run_async, and the claim primitives as coroutines.
        b = await jobs.enqueue("sd", 5)
        assert (await jobs.worker({"sd": sync_double}).run_async(burst=True)).succeeded == 1
        assert (await jobs.get(b.id)).result == 10
        c = await jobs.enqueue("manual", None, max_attempts=1)
        (cl,) = await jobs.claim("manual", block_ms=1000)
        await jobs.heartbeat(cl, progress=0.1)
        await jobs.fail(cl, "nope")
        assert (await jobs.get(c.id)).status == "dead"
        assert await jobs.cancel(c.id) is False

    arun(main())


def test_async_handlers_under_sync_run(hub: zerolag.Hub) -> None:
    async def inc(ctx: zerolag.JobContext) -> int:
        await asyncio.sleep(0.001)
        return int(ctx.payload) + 1

    jobs = hub.jobs.enqueue_many([{"kind": "inc", "payload": i} for i in range(30)])
    assert hub.jobs.worker({"inc": inc}, concurrency=5).run(burst=True).succeeded == 30
    assert [j.result for j in hub.jobs.get_many([j.id for j in jobs]) if j] == list(range(1, 31))


BAD_KINDS = ["", "a*b", "a?", "a[1]", "a b", "x" * 129, "../etc", "a\nb", "{tag}"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_kinds_are_refused(hub: zerolag.Hub, kind: str) -> None:
    with pytest.raises(ValidationError):
        hub.jobs.enqueue(kind, 1)
    with pytest.raises(ValidationError):
        hub.jobs.claim([kind])


def test_bad_input(hub: zerolag.Hub, store_servers: list[Any], namespace: str) -> None:
    with pytest.raises(ValidationError):
        hub.jobs.enqueue("k", "x" * (1024 * 1024 + 1))
    with pytest.raises(ValidationError):  # not JSON (docs/errors.md)
        hub.jobs.enqueue("k", {"a": {1, 2}})
    with pytest.raises(ValidationError):
        hub.jobs.enqueue("k", float("nan"))
    for bad in (
        {"priority": 10**7},
        {"max_attempts": 0},
        {"backoff": "sometimes"},
        {"backoff": -1},
        {"timeout": 0},
        {"delay": -1},
        {"delay": 1, "run_at": time.time()},
        {"idempotency_key": "a*"},
    ):
        with pytest.raises(ValidationError):
            hub.jobs.enqueue("k", 1, **bad)
    with pytest.raises(ValidationError):
        hub.jobs.enqueue_many([{"kind": "k", "payload": 1}, {"kind": "k", "oops": 1}])
    with pytest.raises(ValidationError):  # all or none: the good first item is not stored
        hub.jobs.enqueue_many([{"kind": "k", "payload": 1}, {"kind": "bad kind"}])
    assert hub.jobs.claim("k") == []
    for bad_id in ("*", "a b", ""):
        with pytest.raises(ValidationError):
            hub.jobs.get(bad_id)
        with pytest.raises(ValidationError):
            hub.jobs.cancel(bad_id)
    with pytest.raises(NotFoundError):
        hub.jobs.get("j-unknown")
    with pytest.raises(ValidationError):
        hub.jobs.claim("k", visibility=0)
    with pytest.raises(ValidationError):
        hub.jobs.claim("k", count=0)
    with pytest.raises(ValidationError):
        hub.jobs.worker({})
    # A stale claim token (another worker's claim) changes nothing.
    job = hub.jobs.enqueue("k", 1)
    (mine,) = hub.jobs.claim("k")
    forged = hub.jobs._finish([(job.id, "not-my-token", "done", "stolen")])
    assert forged == ["stale"]
    assert hub.jobs._finish([("j-missing", "t", "done", None)]) == ["missing"]
    assert hub.jobs.get(job.id).status == "running"
    # A result that is not JSON fails the attempt for good instead of losing it.
    assert hub.jobs._finish([(job.id, mine.token, "done", {1, 2})]) == ["ok"]
    j = hub.jobs.get(job.id)
    assert j.status == "dead" and "not JSON" in (j.error or "")
    # Nothing of the rejected input reached the store as a key.
    for s in store_servers:
        for key in s.keys(f"zl:{{{namespace}:*"):
            assert "*" not in key and " " not in key


def test_worker_from_another_process(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    jobs = hub.jobs.enqueue_many(
        [{"kind": "add", "payload": {"a": i, "b": 1}} for i in range(30)]
        + [{"kind": "slow", "payload": {"n": 7, "sleep": 0.01}}]
    )
    cmd = [
        sys.executable,
        "-m",
        "zerolag",
        "worker",
        "jobs_handlers:HANDLERS",
        "--burst",
        "--json",
        "--concurrency",
        "3",
        "--root",
        str(tmp_path),
        "--namespace",
        namespace,
    ]
    if store_url:
        cmd += ["--url", store_url]
    out = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert '"succeeded": 31' in out.stdout
    got = hub.jobs.get_many([j.id for j in jobs])
    assert [j.result for j in got if j] == [i + 1 for i in range(30)] + [7]
    # The factory form, and a worker waiting for work another process enqueues.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zerolag",
            "worker",
            "jobs_handlers:make_worker",
            "--root",
            str(tmp_path),
            "--namespace",
            namespace,
        ]
        + (["--url", store_url] if store_url else []),
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE)},
    )
    try:
        late = hub.jobs.enqueue("add", {"a": 2, "b": 3})
        end = time.monotonic() + 30
        while hub.jobs.get(late.id).status != "succeeded":
            assert time.monotonic() < end and proc.poll() is None
            time.sleep(0.02)
        assert hub.jobs.get(late.id).result == 5
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.parametrize("backend", ["redis", "cluster", "cluster-p4"])
def test_keys_follow_the_documented_schema(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    text = (HERE.parent / "docs" / "keys.md").read_text()
    rows = re.findall(r"^\| `J ([^`]+)` \| ([a-z ]+) \|", text, flags=re.M)
    assert len(rows) >= 7, "docs/keys.md lost its jobs key table"
    # `J` is `zl:{<ns>:jobs}:`, or `zl:{<ns>:jobs:<p>}:` in a partitioned namespace.
    part = r":[0-9]+" if hub.partitions > 1 else ""
    prefix = re.escape(f"zl:{{{namespace}:jobs") + part + re.escape("}:")
    rules = [
        (
            re.compile(
                prefix
                + re.sub(
                    r"<[a-z]+>",
                    r"[A-Za-z0-9_.:/@+=-]+",
                    re.escape(k).replace(r"\<", "<").replace(r"\>", ">"),
                )
                + "$"
            ),
            {"sorted set": "zset"}.get(kind.strip(), kind.strip()),
        )
        for k, kind in rows
    ]
    a = hub.jobs.enqueue("k", 1, idempotency_key="once")
    hub.jobs.enqueue("k", 2, delay=60)
    hub.jobs.enqueue("k2", 3)
    (c,) = hub.jobs.claim("k")
    hub.jobs.complete(c, "r")
    (c,) = hub.jobs.claim("k2", visibility=30)
    keys = data_keys(store_servers, namespace)
    assert keys
    for key in keys:
        kinds = [t for rx, t in rules if rx.match(key)]
        assert kinds, f"{key} is not in docs/keys.md"
        owner = next(s for s in store_servers if key in s.keys(key))
        assert owner.command("TYPE", key) == kinds[0], key
    assert a.id
    # Everything finished and purged leaves only the sequence counter and the counts hash
    # (its completeness marker alone).
    hub.jobs.complete(c)
    assert hub.jobs.enqueue_many([]) == []
    for jid in [x for x in keys if ":j:" in x]:
        hub.jobs.cancel(jid.rsplit(":j:", 1)[1])
    assert hub.jobs.purge() == 3
    left = data_keys(store_servers, namespace)
    if hub.partitions == 1:
        assert left == {f"zl:{{{namespace}:jobs}}:s", f"zl:{{{namespace}:jobs}}:n"}, sorted(left)
    else:
        assert all(re.fullmatch(prefix + "[sn]", k) for k in left), sorted(left)
    for n in [k for k in left if k.endswith(":n")]:
        owner = next(s for s in store_servers if n in s.keys(n))
        assert owner.command("HGETALL", n) == ["~", "1"]
