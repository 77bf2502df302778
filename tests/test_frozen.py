"""A frozen server, a frozen process: every kind of call on a redis-server stopped with
SIGSTOP raises zerolag.TimeoutError within its timeout (a blocking one within its block time
plus the timeout), a subscription reports a silent server after its ping interval, the
asyncio loop keeps running meanwhile, and the same hub works again after SIGCONT. The
embedded store: a process stopped while it holds the write lock makes the other processes'
writes time out, and they succeed once it runs again.

Each test freezes a server of its own (never the session's shared one). Bounds on elapsed
time are generous ceilings (many times the timeout), there to fail a call that hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zerolag
from servers import RedisCluster, RedisServer

TIMEOUT = 0.3  # seconds: the URL's ?timeout=, small so that the tests are quick
PING = 1.0  # seconds: the URL's ?ping_interval=
# Ceiling for a call that should time out: far above the timeout, far below a hang (the
# subscription's old behaviour was to retry quietly for 60 s).
CEILING = 20.0


def frozen_url(server: RedisServer) -> str:
    return (
        f"redis://127.0.0.1:{server.port}/0?timeout={TIMEOUT}&connect_timeout=0.5"
        f"&retries=1&ping_interval={PING}"
    )


@contextlib.contextmanager
def frozen(server: RedisServer) -> Iterator[None]:
    server.pause()
    try:
        yield
    finally:
        server.resume()


def in_thread(fn: Callable[[], Any], *, ceiling: float = CEILING) -> tuple[Any, float]:
    """Runs `fn` in a thread (so a hang fails the test instead of hanging it): what it
    returned or raised, and how long it took."""
    out: list[Any] = []

    def run() -> None:
        t = time.monotonic()
        try:
            r: Any = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            r = e
        out.append((r, time.monotonic() - t))

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(ceiling)
    assert out, f"the call did not return within {ceiling} s"
    result: tuple[Any, float] = out[0]
    return result


def assert_timeout(r: Any) -> None:
    assert isinstance(r, zerolag.TimeoutError), repr(r)
    assert isinstance(r, TimeoutError)  # the builtin too


async def with_ticker(coro: Any) -> tuple[Any, int]:
    """Awaits `coro` while a ticker task runs: its outcome and the ticks meanwhile (0 when
    the call held the event loop)."""
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        r: Any = await asyncio.wait_for(coro, CEILING)
    except zerolag.ZerolagError as e:
        r = e
    seen = ticks
    stop.set()
    await t
    return r, seen


# ------------------------------------------------------------------------------------------
# Redis standalone: each kind of call
# ------------------------------------------------------------------------------------------


def test_sync_calls_time_out_and_recover(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server()
    with zerolag.open(frozen_url(server), root=tmp_path, namespace="fz") as hub:
        hub.kv.set("a", 1)
        with frozen(server):
            for call in (
                lambda: hub.kv.set("b", 2),
                lambda: hub.kv.get("a"),
                lambda: hub.tasks.create("t", id="t1", intent="x"),
                lambda: hub.events.publish("c", {"n": 1}),
            ):
                r, took = in_thread(call)
                assert_timeout(r)
                assert took < CEILING
                assert "timeout" in str(r).lower()
        assert hub.kv.get("a") == 1
        hub.kv.set("b", 3)
        assert hub.kv.get("b") == 3


def test_async_calls_time_out_without_holding_the_loop(
    make_redis_server: Any, tmp_path: Path
) -> None:
    server = make_redis_server()

    async def main() -> None:
        async with zerolag.open_async(frozen_url(server), root=tmp_path, namespace="fz") as hub:
            await hub.kv.set("a", 1)
            with frozen(server):
                for make in (
                    lambda: hub.kv.set("b", 2),
                    lambda: hub.kv.get("a"),
                    lambda: hub.tasks.count(),
                ):
                    r, ticks = await with_ticker(make())
                    assert_timeout(r)
                    assert ticks > 0, "the event loop was held during the call"
            assert await hub.kv.get("a") == 1
            await hub.kv.set("b", 3)
            assert await hub.kv.get("b") == 3

    asyncio.run(main())


def test_a_subscription_reports_a_silent_server_and_resumes(
    make_redis_server: Any, tmp_path: Path
) -> None:
    server = make_redis_server()
    with zerolag.open(frozen_url(server), root=tmp_path, namespace="fz") as hub:
        sub = hub.events.subscribe("c")
        hub.events.publish("c", {"n": 0})
        first = sub.get(timeout=5)
        assert first is not None and first.data == {"n": 0}
        with frozen(server):
            # Waiting with no timeout: only the ping can end this wait.
            r, took = in_thread(lambda: next(sub))
            assert_timeout(r)
            assert "ping" in str(r).lower(), str(r)
            assert took < CEILING
        # The subscription keeps its place: what is published now arrives.
        hub.events.publish("c", {"n": 1})
        ev = sub.get(timeout=10)
        assert ev is not None and ev.data == {"n": 1}
        sub.close()


def test_an_async_subscription_reports_a_silent_server_and_resumes(
    make_redis_server: Any, tmp_path: Path
) -> None:
    server = make_redis_server()

    async def main() -> None:
        async with zerolag.open_async(frozen_url(server), root=tmp_path, namespace="fz") as hub:
            async with hub.events.subscribe("c") as sub:
                with frozen(server):
                    r, ticks = await with_ticker(sub.__anext__())
                    assert_timeout(r)
                    assert "ping" in str(r).lower(), str(r)
                    assert ticks > 0
                await hub.events.publish("c", {"n": 1})
                ev = await sub.get(timeout=10)
                assert ev is not None and ev.data == {"n": 1}

    asyncio.run(main())


def test_blocking_consume_and_claim_time_out_within_block_plus_timeout(
    make_redis_server: Any, tmp_path: Path
) -> None:
    server = make_redis_server()
    with zerolag.open(frozen_url(server), root=tmp_path, namespace="fz") as hub:
        hub.bus.register("worker", kinds=["job"])
        hub.bus.consume("worker", group="g", consumer="c1")  # creates the group
        calls: dict[str, Callable[[], Any]] = {
            "consume": lambda: hub.bus.consume("worker", group="g", consumer="c1", block_ms=2000),
            "claim": lambda: hub.jobs.claim("job", worker="w1", block_ms=2000),
            "claim forever": lambda: hub.jobs.claim("job", worker="w1", block_ms=None),
        }
        for name, call in calls.items():
            out: list[tuple[Any, float]] = []
            th = threading.Thread(target=lambda c=call, o=out: o.append(in_thread(c)), daemon=True)
            th.start()
            time.sleep(0.2)  # the call is waiting for a message or a job when the server stops
            with frozen(server):
                th.join(CEILING + 1)
            assert out, name
            r, took = out[0]
            assert_timeout(r)
            assert took < CEILING, name
        # Everything works again on the same hub.
        hub.bus.share("boss", "worker", {"do": 1})
        got = hub.bus.consume("worker", group="g", consumer="c1", block_ms=2000)
        assert [d.message.payload for d in got] == [{"do": 1}]
        hub.jobs.enqueue("job", {"x": 1})
        claims = hub.jobs.claim("job", worker="w1", block_ms=2000)
        assert len(claims) == 1


def test_async_blocking_consume_and_claim_keep_the_loop_running(
    make_redis_server: Any, tmp_path: Path
) -> None:
    server = make_redis_server()

    async def main() -> None:
        async with zerolag.open_async(frozen_url(server), root=tmp_path, namespace="fz") as hub:
            await hub.bus.register("worker", kinds=["job"])
            await hub.bus.consume("worker", group="g", consumer="c1")
            with frozen(server):
                for make in (
                    lambda: hub.bus.consume("worker", group="g", consumer="c1", block_ms=1000),
                    lambda: hub.jobs.claim("job", worker="w1", block_ms=1000),
                ):
                    r, ticks = await with_ticker(make())
                    assert_timeout(r)
                    assert ticks > 0
            await hub.jobs.enqueue("job", {"x": 1})
            assert len(await hub.jobs.claim("job", worker="w1", block_ms=2000)) == 1

    asyncio.run(main())


def test_a_worker_rides_out_a_frozen_server(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server()
    with zerolag.open(frozen_url(server), root=tmp_path, namespace="fz") as hub:
        w = hub.jobs.worker({"sq": lambda ctx: int(ctx.payload) ** 2})
        th = threading.Thread(target=w.run, daemon=True)
        th.start()
        first = hub.jobs.enqueue("sq", 3)
        wait_for(lambda: hub.jobs.get(first.id).status == "succeeded")
        with frozen(server):
            time.sleep(4 * TIMEOUT)  # the worker's claims meet the frozen server
        assert th.is_alive()  # it retried rather than died
        job = hub.jobs.enqueue("sq", 4)
        wait_for(lambda: hub.jobs.get(job.id).status == "succeeded")
        assert hub.jobs.get(job.id).result == 16
        w.stop()
        th.join(CEILING)
        assert not th.is_alive()


def test_file_sync_write_back_survives_a_frozen_server(
    make_redis_server: Any, tmp_path: Path
) -> None:
    server = make_redis_server()
    with zerolag.open(frozen_url(server), root=tmp_path, namespace="fz") as hub:
        hub.sync.start(writeback_poll=0.1)
        hub.docs.put("contexts/a.yaml", {"v": 1})
        target = tmp_path / "contexts" / "a.yaml"
        wait_for(lambda: target.exists() and "v: 1" in target.read_text())
        with frozen(server):
            r, _ = in_thread(lambda: hub.docs.put("contexts/a.yaml", {"v": 2}))
            assert_timeout(r)
            time.sleep(3 * TIMEOUT)  # the write-back worker meets the frozen server too
        # The write-back worker is still there: a write after SIGCONT reaches the file.
        hub.docs.put("contexts/a.yaml", {"v": 3})
        wait_for(lambda: "v: 3" in target.read_text())
        r, _ = in_thread(hub.sync.stop)
        assert r is True or r is False, repr(r)


def wait_for(cond: Callable[[], bool], limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


# ------------------------------------------------------------------------------------------
# Redis Cluster: one master of a private 3-master cluster frozen
# ------------------------------------------------------------------------------------------


@pytest.fixture
def private_cluster() -> Iterator[RedisCluster]:
    cluster = RedisCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def master_of(cluster: RedisCluster, hashtag: str) -> RedisServer:
    """The node serving the slot of `{hashtag}`."""
    node = cluster.nodes[0]
    slot = int(node.command("CLUSTER", "KEYSLOT", "{" + hashtag + "}"))
    for start, end, owner, *_ in node.command("CLUSTER", "SLOTS"):
        if int(start) <= slot <= int(end):
            port = int(owner[1])
            return next(n for n in cluster.nodes if n.port == port)
    raise AssertionError(f"no node serves slot {slot}")


def test_a_frozen_cluster_master_times_out_and_recovers(
    private_cluster: RedisCluster, tmp_path: Path
) -> None:
    url = (
        private_cluster.url + f"?timeout={TIMEOUT}&connect_timeout=0.5&retries=1"
        f"&ping_interval={PING}"
    )
    ns = "fz"
    victim = master_of(private_cluster, f"{ns}:kv")
    with zerolag.open(url, root=tmp_path, namespace=ns) as hub:
        hub.kv.set("a", 1)

        async def async_call() -> tuple[Any, int]:
            ahub = await zerolag.open_async(url, root=tmp_path, namespace=ns)
            try:
                await ahub.kv.get("a")
                # Frozen for less than the cluster's node timeout, so no node is marked failed.
                with frozen(victim):
                    sync_r, _ = in_thread(lambda: hub.kv.set("b", 2))
                    async_r = await with_ticker(ahub.kv.get("a"))
                assert_timeout(sync_r)
                return async_r
            finally:
                await ahub.close()

        r, ticks = asyncio.run(async_call())
        assert_timeout(r)
        assert ticks > 0
        private_cluster.wait_ok()
        wait_for(lambda: _works(lambda: hub.kv.set("b", 3)))
        assert hub.kv.get("b") == 3 and hub.kv.get("a") == 1


def _works(fn: Callable[[], Any]) -> bool:
    try:
        fn()
    except (zerolag.TimeoutError, zerolag.ConnectionError):
        return False
    return True


# ------------------------------------------------------------------------------------------
# Embedded: a process stopped while it holds the write lock
# ------------------------------------------------------------------------------------------

LOCK_HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    import zerolag

    root = sys.argv[1]
    hub = zerolag.open(root=root, namespace="fz")  # this process is a zerolag user too
    hub.kv.set("holder", 1)
    db = sqlite3.connect(root + "/.zerolag/zerolag.db", isolation_level=None)
    db.execute("BEGIN IMMEDIATE")  # the write lock, as any write transaction holds it
    print("locked", flush=True)
    sys.stdin.readline()  # held until told (and while stopped)
    db.execute("COMMIT")
    print("released", flush=True)
    """
)


@pytest.fixture
def lock_holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    zerolag.open(root=tmp_path, namespace="fz").close()  # the database exists
    p = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "locked"
        yield p
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGCONT)
        p.kill()
        p.wait()


def test_a_stopped_lock_holder_makes_writes_time_out_then_recover(
    lock_holder: subprocess.Popen[str], tmp_path: Path
) -> None:
    os.kill(lock_holder.pid, signal.SIGSTOP)
    url = f"sqlite://?timeout={TIMEOUT}"
    with zerolag.open(url, root=tmp_path, namespace="fz") as hub:
        try:
            for call in (
                lambda: hub.kv.set("a", 1),
                lambda: hub.tasks.create("t", id="t1", intent="x"),
                lambda: hub.jobs.enqueue("job", {"x": 1}),
            ):
                r, took = in_thread(call)
                assert_timeout(r)
                assert "timeout" in str(r).lower(), str(r)
                assert took < CEILING
            # Readers are not held by a writer (WAL).
            assert hub.kv.get("holder") == 1

            async def async_write() -> tuple[Any, int]:
                ahub = await zerolag.open_async(url, root=tmp_path, namespace="fz")
                try:
                    return await with_ticker(ahub.kv.set("b", 1))
                finally:
                    await ahub.close()

            r, ticks = asyncio.run(async_write())
            assert_timeout(r)
            assert ticks > 0
        finally:
            os.kill(lock_holder.pid, signal.SIGCONT)
        assert lock_holder.stdin is not None and lock_holder.stdout is not None
        lock_holder.stdin.write("\n")
        lock_holder.stdin.flush()
        assert lock_holder.stdout.readline().strip() == "released"
        hub.kv.set("a", 2)
        hub.tasks.create("t", id="t1", intent="x")
        assert hub.kv.get("a") == 2 and hub.tasks.get("t1").id == "t1"
