"""The ``wait_replicas`` URL option: a write is acknowledged only once that many replicas have
it (``WAIT`` after the write, on the same connection). With the replica stopped, every kind
of write raises TimeoutError within ``wait_timeout_ms`` while reads go on, and a hub without
the option is acknowledged at once. The failover under load with the option loses nothing:
see test_failover.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zerolag
from servers import RedisServer

WAIT_MS = 300
WAIT = f"wait_replicas=1&wait_timeout_ms={WAIT_MS}"
CEILING = 10.0  # seconds: far above the WAIT timeout, far below a hang


def _replica_of(primary: RedisServer) -> RedisServer:
    replica = RedisServer(config={"replicaof": f"127.0.0.1 {primary.port}"})
    deadline = time.monotonic() + 20
    while "master_link_status:up" not in replica.command("INFO", "replication"):
        if time.monotonic() > deadline:
            replica.stop()
            raise RuntimeError(f"the replica never synced:\n{replica.logs()}")
        time.sleep(0.05)
    return replica


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[RedisServer, RedisServer]]:
    primary = RedisServer()
    replica = _replica_of(primary)
    yield primary, replica
    replica.resume()
    replica.stop()
    primary.stop()


def _url(primary: RedisServer, query: str) -> str:
    return f"redis://127.0.0.1:{primary.port}/0?timeout=3&{query}"


def _writes(hub: zerolag.Hub) -> dict[str, Callable[[], Any]]:
    """One write of each capability."""
    return {
        "kv": lambda: hub.kv.set("k", 1),
        "tasks": lambda: hub.tasks.create("t", intent="durable"),
        "events": lambda: hub.events.publish("durable:tick", {"i": 1}),
        "jobs": lambda: hub.jobs.enqueue("durable", {"i": 1}),
        "docs": lambda: hub.docs.put("contexts/durable.yaml", {"i": 1}),
        "bus": lambda: hub.bus.share("a", "b", {"i": 1}),
    }


def _waits(primary: RedisServer) -> int:
    stats = primary.command("INFO", "commandstats")
    for line in stats.splitlines():
        if line.startswith("cmdstat_wait:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def test_writes_wait_for_the_replica_and_fail_while_it_lags(
    primary_and_replica: tuple[RedisServer, RedisServer],
) -> None:
    primary, replica = primary_and_replica
    hub = zerolag.open(_url(primary, WAIT), namespace="durable")
    plain = zerolag.open(_url(primary, ""), namespace="durable")
    hub.bus.register("b")
    # The replica is up: every write is confirmed, each by its own WAIT.
    before = _waits(primary)
    for write in _writes(hub).values():
        write()
    assert _waits(primary) - before >= len(_writes(hub))
    # A read sends no WAIT.
    before = _waits(primary)
    assert hub.kv.get("k") == 1
    assert len(hub.tasks.search(intent="durable"))
    assert _waits(primary) == before

    replica.pause()
    try:
        for name, write in _writes(hub).items():
            t0 = time.monotonic()
            with pytest.raises(zerolag.TimeoutError, match="wait_replicas") as caught:
                write()
            took = time.monotonic() - t0
            assert WAIT_MS / 1000 * 0.9 <= took < CEILING, (name, took)
            assert "0 of the 1 replica" in str(caught.value), name
        # Reads go on while the replica lags.
        assert hub.kv.get("k") == 1
        assert hub.events.read("durable:*")
        # The master applied the unconfirmed write (WAIT cannot undo it) ...
        assert plain.kv.get("k") == 1
        # ... and without the option a write is acknowledged as soon as the master has it.
        t0 = time.monotonic()
        plain.kv.set("plain", 2)
        assert time.monotonic() - t0 < WAIT_MS / 1000
    finally:
        replica.resume()
    # Once the replica catches up, writes are confirmed again.
    deadline = time.monotonic() + CEILING
    while True:
        try:
            hub.kv.set("k", 3)
            break
        except zerolag.TimeoutError:
            assert time.monotonic() < deadline, "writes stay unconfirmed after the replica is back"
    hub.close()
    plain.close()


def test_async_writes_wait_too(primary_and_replica: tuple[RedisServer, RedisServer]) -> None:
    primary, replica = primary_and_replica

    async def main() -> None:
        async with zerolag.open_async(_url(primary, WAIT), namespace="durable") as hub:
            await hub.kv.set("a", 1)
            await hub.tasks.create("t", intent="durable")
            replica.pause()
            try:
                with pytest.raises(zerolag.TimeoutError, match="wait_replicas"):
                    await hub.kv.set("a", 2)
                with pytest.raises(zerolag.TimeoutError, match="wait_replicas"):
                    await hub.tasks.create("t2", intent="durable")
                assert await hub.kv.get("a") == 2  # applied, not confirmed
            finally:
                replica.resume()

    asyncio.run(main())


@pytest.mark.parametrize(
    "query",
    [
        "wait_replicas=0",
        "wait_replicas=many",
        "wait_timeout_ms=100",
        "wait_replicas=1&wait_timeout_ms=0",
        "wait_replicas=1&wait_timeout_ms=4000",  # not below the reply timeout (3 s)
    ],
)
def test_bad_durability_options_are_refused(redis_server: RedisServer, query: str) -> None:
    with pytest.raises(zerolag.ValidationError, match="wait_"):
        zerolag.open(_url(redis_server, query))


def test_without_replicas_a_write_is_refused_not_acknowledged(redis_server: RedisServer) -> None:
    # Opening a hub writes (the namespace's marker), so it fails first, and says why.
    url = _url(redis_server, "wait_replicas=1&wait_timeout_ms=50")
    with pytest.raises(zerolag.TimeoutError, match="0 of the 1 replica"):
        zerolag.open(url, namespace="nr")
