"""The workers registry (``hub.jobs.workers()``) and ``hub.jobs.requeue`` on every backend:
a real worker process registers, beats with its counts, unregisters on a clean stop and is
reported lost once SIGKILLed; the asyncio runtime registers too; dead jobs go back to their
queue. Deadlines below are generous limits for a loaded machine, never latency claims."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zerolag
from zerolag import ValidationError

HERE = Path(__file__).resolve().parent
VISIBILITY = 0.6  # the worker beats every 0.2 s: lost after 0.6 s without a beat


def until(cond: Callable[[], Any], what: str, limit: float = 60.0) -> Any:
    end = time.monotonic() + limit
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < end, f"never happened: {what}"
        time.sleep(0.05)


def start_worker(url: str | None, root: Path, ns: str, name: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "zerolag",
        "worker",
        "jobs_handlers:HANDLERS",
        "--concurrency",
        "2",
        "--visibility",
        str(VISIBILITY),
        "--name",
        name,
        "--root",
        str(root),
        "--namespace",
        ns,
    ]
    if url:
        cmd += ["--url", url]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.Popen(
        cmd, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def entry(hub: zerolag.Hub, name: str) -> dict[str, Any] | None:
    return next((w for w in hub.jobs.workers() if w["id"] == name), None)


def test_a_worker_process_registers_beats_counts_and_is_lost_once_killed(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    proc = start_worker(store_url, tmp_path, namespace, "w-kill")
    try:
        w = until(lambda: entry(hub, "w-kill"), "the worker registered")
        assert (w["host"], w["pid"]) == (socket.gethostname(), proc.pid)
        assert w["kinds"] == ["add", "noop", "slow"]
        assert (w["done"], w["failed"], w["lost"]) == (0, 0, False)
        assert w["interval"] == pytest.approx(VISIBILITY / 3)
        assert w["last_beat"] >= w["started"]
        first_beat = w["last_beat"]
        until(
            lambda: (entry(hub, "w-kill") or {}).get("last_beat", 0) > first_beat,
            "a later beat",
        )
        ok = [hub.jobs.enqueue("add", {"a": i, "b": 1}) for i in range(3)]
        bad = [hub.jobs.enqueue("add", {"a": 1}, max_attempts=1) for _ in range(2)]
        until(
            lambda: (
                all(hub.jobs.get(j.id).status == "succeeded" for j in ok)
                and all(hub.jobs.get(j.id).status == "dead" for j in bad)
            ),
            "the jobs ran",
        )
        w = until(
            lambda: (e := entry(hub, "w-kill")) and (e["done"], e["failed"]) == (3, 2) and e,
            "the counts reached the registry",
        )
        assert not w["lost"]
        proc.kill()  # SIGKILL: no chance to unregister
        proc.wait()
        w = until(lambda: (e := entry(hub, "w-kill")) and e["lost"] and e, "reported lost")
        assert (w["done"], w["failed"]) == (3, 2)
        assert time.time() - w["last_beat"] > 3 * w["interval"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_clean_stop_unregisters(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    procs = [start_worker(store_url, tmp_path, namespace, f"w-{i}") for i in range(2)]
    try:
        until(lambda: len(hub.jobs.workers()) == 2, "both workers registered")
        listed = hub.jobs.workers()
        assert sorted(w["id"] for w in listed) == ["w-0", "w-1"]
        assert listed[0]["started"] <= listed[1]["started"]  # first started first
        procs[0].send_signal(signal.SIGINT)
        assert procs[0].wait(60) == 0
        assert [w["id"] for w in hub.jobs.workers()] == ["w-1"]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_the_asyncio_and_thread_runtimes_register_while_they_run(hub: zerolag.Hub) -> None:
    async def handler(ctx: Any) -> int:
        return 1

    worker = hub.jobs.worker({"k": handler}, visibility=VISIBILITY, name="w-async")
    assert worker.beat_interval == pytest.approx(VISIBILITY / 3)

    async def main() -> None:
        task = asyncio.create_task(worker.run_async())
        while entry(hub, "w-async") is None:
            await asyncio.sleep(0.05)
        hub.jobs.enqueue("k")
        while (entry(hub, "w-async") or {}).get("done") != 1:
            assert not task.done()
            await asyncio.sleep(0.05)
        worker.stop()
        await task

    asyncio.run(asyncio.wait_for(main(), 60))
    assert entry(hub, "w-async") is None

    sync_worker = hub.jobs.worker({"k": lambda ctx: 1}, visibility=VISIBILITY, name="w-thread")
    t = threading.Thread(target=sync_worker.run, daemon=True)
    t.start()
    try:
        until(lambda: entry(hub, "w-thread"), "the thread worker registered")
    finally:
        sync_worker.stop()
        t.join(60)
    assert entry(hub, "w-thread") is None


def test_a_worker_the_registry_forgot_registers_again(hub: zerolag.Hub) -> None:
    worker = hub.jobs.worker({"k": lambda ctx: 1}, visibility=VISIBILITY, name="w-back")
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    try:
        until(lambda: entry(hub, "w-back"), "registered")
        assert hub.jobs.unregister_worker("w-back")  # as if dropped after an hour of silence
        until(lambda: entry(hub, "w-back"), "registered again by its next beat")
    finally:
        worker.stop()
        t.join(60)


def test_registry_calls_and_bad_input(hub: zerolag.Hub) -> None:
    j = hub.jobs
    j.register_worker("mine", kinds=["a", "b"], interval=5, host="box", pid=7)
    assert j.beat_worker("mine", 4, 1) is True
    assert j.beat_worker("other", 0, 0) is False
    (w,) = j.workers()
    assert {k: w[k] for k in ("id", "host", "pid", "kinds", "done", "failed", "lost")} == {
        "id": "mine",
        "host": "box",
        "pid": 7,
        "kinds": ["a", "b"],
        "done": 4,
        "failed": 1,
        "lost": False,
    }
    assert j.unregister_worker("mine") is True
    assert j.unregister_worker("mine") is False
    j.register_worker("me", kinds="k", interval=1)
    (w,) = j.workers()
    assert (w["host"], w["pid"], w["kinds"]) == (socket.gethostname(), os.getpid(), ["k"])
    for bad in (
        lambda: j.register_worker("a b", kinds=["k"], interval=1),
        lambda: j.register_worker("w", kinds=["k*"], interval=1),
        lambda: j.register_worker("w", kinds=["k"], interval=0),
        lambda: j.register_worker("w", kinds=["k"], interval=601),
        lambda: j.register_worker("w", kinds=["k"], interval=1, host="a\nb"),
        lambda: j.beat_worker("*", 1, 1),
    ):
        with pytest.raises(ValidationError):
            bad()
    assert [w["id"] for w in j.workers()] == ["me"]


def dead(hub: zerolag.Hub, kind: str) -> str:
    job = hub.jobs.enqueue(kind, {"k": kind}, max_attempts=1)
    (c,) = hub.jobs.claim(kind)
    hub.jobs.fail(c, "boom")
    assert hub.jobs.get(job.id).status == "dead"
    return job.id


def test_requeue_dead_jobs(hub: zerolag.Hub) -> None:
    j = hub.jobs
    a1, a2, b1 = dead(hub, "a"), dead(hub, "a"), dead(hub, "b")
    done = j.enqueue("a")
    j.complete(j.claim("a")[0])
    cancelled = j.enqueue("c")
    assert j.cancel(cancelled.id)
    pending = j.enqueue("p")
    # Named: the dead and the cancelled move; the succeeded and the pending stay.
    assert j.requeue([a1, done.id, cancelled.id, pending.id, "j-missing"]) == 2
    job = j.get(a1)
    assert (job.status, job.attempts, job.finished_at, job.error) == ("pending", 0, None, "boom")
    assert j.get(done.id).status == "succeeded"
    assert j.get(cancelled.id).status == "pending"
    assert j.requeue(a1) == 0  # a single id as a string; no longer dead
    # In bulk: the dead of a kind, then all.
    assert j.requeue(kind="b") == 1
    assert j.get(a2).status == "dead"
    assert j.requeue() == 1
    assert j.requeue() == 0
    assert [c.id for c in j.claim("a", count=10)] == [a1, a2]
    assert j.get(b1).status == "pending"
    with pytest.raises(ValidationError):
        j.requeue([a1], kind="a")
    with pytest.raises(ValidationError):
        j.requeue(limit=0)
    with pytest.raises(ValidationError):
        j.requeue(["bad id"])


def test_bulk_requeue_and_purge_in_batches(hub: zerolag.Hub) -> None:
    j = hub.jobs
    jobs = j.enqueue_many([{"kind": "x", "payload": i, "max_attempts": 1} for i in range(1200)])
    while claims := j.claim("x", count=1000):
        j._finish([(c.id, c.token, "dead", "boom") for c in claims])
    assert j.requeue(kind="x", limit=700) == 700
    assert j.requeue(kind="x") == 500
    page = j.list("ready", kind="x", limit=1000)
    assert len(page) == 1000 and page.next_cursor is not None
    while claims := j.claim("x", count=1000):
        j._finish([(c.id, c.token, "done", None) for c in claims])
    assert j.purge(limit=1000) == 1000
    assert j.purge(limit=1000) == 200
    assert j.get_many([x.id for x in jobs]) == [None] * 1200
