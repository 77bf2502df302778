"""The asyncio API: every async method returns a native coroutine object that starts when
awaited; cancellation stops the background work without leaking a connection or leaving a
half-written record; the async stubs are the sync stubs' twins.

Runs against every backend (embedded, Redis, Redis Cluster) and, for the in-flight cases, a
throwaway redis-server paused with SIGSTOP.
"""

from __future__ import annotations

import asyncio
import collections.abc
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner, unique_namespace

ROOT = Path(__file__).resolve().parent.parent


def test_async_stubs_are_generated_from_the_sync_stubs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_async_stubs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_sync_operation_has_its_async_twin() -> None:
    pairs = {
        zerolag.Hub: zerolag.AsyncHub,
        zerolag.Tasks: zerolag.AsyncTasks,
        zerolag.Bus: zerolag.AsyncBus,
        zerolag.Docs: zerolag.AsyncDocs,
        zerolag.Events: zerolag.AsyncEvents,
        zerolag.Jobs: zerolag.AsyncJobs,
        zerolag.Patterns: zerolag.AsyncPatterns,
    }
    sync_only = {"close", "closed", "__enter__", "__exit__", "_async_twin"}
    for sync, aio in pairs.items():
        names = {n for n in dir(sync) if not n.startswith("__") or n in ("__enter__",)}
        missing = sorted(n for n in names - sync_only if not hasattr(aio, n))
        assert not missing, f"{aio.__name__} lacks {missing}"


def test_a_call_is_a_coroutine_that_starts_only_when_awaited(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await zerolag.open_async(root=tmp_path, namespace=unique_namespace())
        try:
            pending = hub.tasks.create("later", id="t1")
            assert asyncio.iscoroutine(pending)
            assert isinstance(pending, collections.abc.Coroutine)
            assert await hub.tasks.count() == 0, "the write ran before it was awaited"
            task = asyncio.create_task(pending)
            assert (await task).id == "t1"
            assert await hub.tasks.count() == 1
            a, b = await asyncio.gather(hub.tasks.get("t1"), hub.health())
            assert a.id == "t1" and b.keys > 0
            with pytest.raises(RuntimeError, match="already awaited"):
                await pending
            never = hub.tasks.create("never", id="t2")
            never.close()
            assert await hub.tasks.count() == 1
        finally:
            await hub.close()

    asyncio.run(main())


def test_calls_made_before_any_loop_runs(tmp_path: Path) -> None:
    # asyncio.run() takes the native coroutine as it takes an async def call.
    hub = asyncio.run(zerolag.AsyncHub.connect(root=str(tmp_path), namespace=unique_namespace()))
    created = hub.tasks.create("made outside", id="o1")
    assert asyncio.run(created).id == "o1"
    assert asyncio.run(hub.tasks.count()) == 1
    asyncio.run(hub.close())


def test_errors_raise_at_await(async_hub: Any, arun: AsyncRunner) -> None:
    async def main() -> None:
        coro = async_hub.tasks.get("no-such-task")
        with pytest.raises(zerolag.NotFoundError):
            await coro
        with pytest.raises(zerolag.ValidationError):
            await async_hub.tasks.get("bad id *")

    arun(main())


def test_operations_that_return_nothing_return_none(
    hub: Any, async_hub: Any, arun: AsyncRunner
) -> None:
    assert hub.events.set_retention(max_len=50) is None
    assert arun(async_hub.events.set_retention, max_len=60) is None
    assert arun(async_hub._noop) is None


def test_throw_and_close_follow_the_coroutine_protocol(async_hub: Any, arun: AsyncRunner) -> None:
    coro = async_hub.tasks.count()
    with pytest.raises(KeyError):
        coro.throw(KeyError("boom"))
    coro2 = async_hub.tasks.count()
    coro2.close()
    with pytest.raises(RuntimeError):
        arun(coro2)


def test_no_io_operations_never_touch_the_loop(async_hub: Any, arun: AsyncRunner) -> None:
    """A no-op resolves on the calling thread: its coroutine finishes at the first send."""
    coro = async_hub._noop()
    with pytest.raises(StopIteration) as stop:
        coro.send(None)
    assert stop.value.value is None

    async def hop() -> None:
        assert await async_hub._noop(hop=True) is None

    arun(hop())


def test_many_concurrent_operations_all_resolve(async_hub: Any, arun: AsyncRunner) -> None:
    async def worker(i: int) -> str:
        t = await async_hub.tasks.create(f"c{i}", id=f"c{i}", intent="load")
        got = await async_hub.tasks.get(t.id)
        return str(got.id)

    async def main() -> None:
        ids = await asyncio.gather(*(worker(i) for i in range(300)))
        assert sorted(ids) == sorted(f"c{i}" for i in range(300))
        assert await async_hub.tasks.count() == 300

    arun(main())


def test_a_cancelled_blocking_claim_stops_waiting(
    async_hub: Any, hub: Any, arun: AsyncRunner
) -> None:
    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(async_hub.jobs.claim("k", block_ms=None), 0.3)

    arun(main())
    # The cancelled claim stops at its next step (at most 250 ms); after that a job enqueued
    # now is not taken by it.
    time.sleep(0.35)
    job = hub.jobs.enqueue("k", {"n": 1})
    time.sleep(0.3)
    claims = hub.jobs.claim("k", block_ms=0)
    assert [c.id for c in claims] == [job.id]


def test_a_cancelled_blocking_consume_stops_waiting(
    async_hub: Any, hub: Any, arun: AsyncRunner
) -> None:
    hub.bus.register("a")

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(
                async_hub.bus.consume("a", group="g", consumer="c1", block_ms=60_000), 0.3
            )

    arun(main())
    time.sleep(0.35)
    m = hub.bus.share("b", "a", {"x": 1})
    time.sleep(0.3)
    got = hub.bus.consume("a", group="g", consumer="c2")
    assert [d.id for d in got] == [m.id]


def test_a_cancelled_subscription_get_leaves_the_subscription_usable(
    async_hub: Any, hub: Any, arun: AsyncRunner
) -> None:
    async def main() -> None:
        async with async_hub.events.subscribe("ch:*") as sub:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(sub.get(), 0.2)
            hub.events.publish("ch:a", 1)
            ev = await sub.get(timeout=5)
            assert ev is not None and ev.data == 1

    arun(main())


def test_a_cancelled_write_is_whole_or_absent_and_leaks_no_connection(
    make_redis_server: Any, tmp_path: Path
) -> None:
    server = make_redis_server()
    ns = unique_namespace()

    def clients() -> int:
        return len(str(server.command("CLIENT", "LIST")).strip().splitlines())

    async def main() -> None:
        hub = await zerolag.open_async(server.url, root=tmp_path, namespace=ns)
        try:
            await hub.tasks.create("warm", id="w")
            before = clients()
            # Writes in flight on a server that answers nothing, cancelled by their timeout.
            server.pause()
            try:
                for i in range(20):
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(
                            hub.tasks.create(f"x{i}", id=f"x{i}", intent="cut", keywords=["k"]),
                            0.05,
                        )
            finally:
                server.resume()
            # The store may or may not have applied each one, but never half of it.
            for i in range(20):
                try:
                    t = await hub.tasks.get(f"x{i}")
                except zerolag.NotFoundError:
                    continue
                assert t.intent == "cut" and t.keywords == ["k"]
                page = await hub.tasks.search(intent="cut", keywords=["k"], limit=100)
                assert f"x{i}" in {p.id for p in page.tasks}
            # And the hub works, on as many connections as before (give or take the pool).
            assert (await hub.tasks.get("w")).id == "w"
            for _ in range(50):
                await hub.tasks.count()
            assert clients() <= before + 2
        finally:
            await hub.clear()
            await hub.close()

    asyncio.run(main())


def test_a_cancelled_embedded_write_is_whole_or_absent(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await zerolag.open_async(root=tmp_path, namespace=unique_namespace())
        try:
            tasks = [
                asyncio.create_task(
                    hub.tasks.create_many(
                        [{"id": f"b{i}-{j}", "title": "t", "intent": "bulk"} for j in range(50)]
                    )
                )
                for i in range(20)
            ]
            await asyncio.sleep(0)
            for t in tasks[::2]:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0.2)
            n = await hub.tasks.count()
            # Each batch is one transaction: whole batches only.
            assert n % 50 == 0 and n >= 500
            page = await hub.tasks.search(intent="bulk", limit=1000)
            assert len(page.tasks) == n
        finally:
            await hub.close()

    asyncio.run(main())
