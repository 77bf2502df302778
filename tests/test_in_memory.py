"""`zerolag.open("memory://")`: the embedded store in this process's memory, for fast tests.
A smoke run of every capability on it, sharing by name, isolation, and nothing on disk."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest
import zerolag


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*"))


def test_every_capability_works_in_memory_and_nothing_touches_the_disk(
    zerolag_hub: zerolag.Hub, tmp_path: Path
) -> None:
    """Through the plugin's own fixture (zerolag.testing): a fresh memory:// store."""
    hub = zerolag_hub
    assert hub.health().backend == "embedded"
    t = hub.tasks.create("Login page", intent="auth", keywords=["jwt"], confidence=0.9)
    assert [x.id for x in hub.tasks.search(intent="auth", keywords=["jwt"]).tasks] == [t.id]
    hub.kv.set("k", b"\x00v", ttl=60)
    assert hub.kv.get("k") == b"\x00v"
    hub.docs.put("contexts/a.yaml", {"x": 1})
    assert hub.docs.get("contexts/a.yaml").value == {"x": 1}
    cursor = hub.changes.cursor()
    hub.tasks.update(t.id, status="done")
    assert [c.id for c in hub.changes.read(cursor).changes] == [t.id]
    hub.bus.register("b")
    hub.bus.share("a", "b", {"n": 1})
    got = hub.bus.consume("b", group="g", consumer="c", count=5, block_ms=100)
    assert [d.payload for d in got] == [{"n": 1}]
    job = hub.jobs.enqueue("double", {"x": 21})
    hub.jobs.worker({"double": lambda ctx: ctx.payload["x"] * 2}).run(burst=True)
    assert hub.jobs.get(job.id).result == 42
    sub = hub.events.subscribe("ch:*")
    threading.Timer(0.05, lambda: hub.events.publish("ch:1", {"ok": True})).start()
    ev = sub.get(timeout=5)
    assert ev is not None and ev.data == {"ok": True}
    sub.close()
    hub.memory.remember("fact", "the sky is blue", scope={"user": "u"})
    assert [h.record.key for h in hub.memory.search("sky", scope={"user": "u"})] == ["fact"]
    hub.cache.set("c", "v", tags=["t"])
    hub.cache.invalidate_tag("t")
    assert hub.cache.get("c") is None
    assert hub.health().keys > 0
    assert _files(tmp_path) == [], "an in-memory store writes no file"


def test_a_name_shares_one_store_in_the_process(tmp_path: Path) -> None:
    a = zerolag.open("memory://shared-1", root=tmp_path)
    b = zerolag.open("memory://shared-1", root=tmp_path)
    other = zerolag.open("memory://shared-2", root=tmp_path)
    fresh = zerolag.open("memory://", root=tmp_path)
    try:
        a.kv.set("k", "from a")
        assert b.kv.get("k") == "from a"
        assert other.kv.get("k") is None and fresh.kv.get("k") is None
        # A subscriber on one handle wakes for a write through another.
        sub = b.events.subscribe("x")
        threading.Timer(0.05, lambda: a.events.publish("x", 1)).start()
        ev = sub.get(timeout=5)
        assert ev is not None and ev.data == 1
        sub.close()
    finally:
        for h in (a, b, other, fresh):
            h.close()
    # A named store outlives its hubs (until the process exits): a later hub finds the data.
    with zerolag.open("memory://shared-1", root=tmp_path) as again:
        assert again.kv.get("k") == "from a"
        again.clear()
        assert again.kv.get("k") is None


def test_concurrent_writers_on_one_memory_store(tmp_path: Path) -> None:
    with zerolag.open("memory://busy", root=tmp_path) as hub:

        def writer(i: int) -> None:
            for n in range(50):
                hub.kv.incr("count")
                hub.tasks.create(f"task {i}-{n}")

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert hub.kv.get("count") == 200
        assert hub.health().by_capability["tasks"] >= 200


def test_async_hub_in_memory(tmp_path: Path) -> None:
    async def main() -> None:
        async with zerolag.open_async("memory://aio", root=tmp_path) as hub:
            await hub.kv.set("k", {"v": 1})
            assert await hub.kv.get("k") == {"v": 1}
            await asyncio.gather(*(hub.kv.incr("n") for _ in range(20)))
            assert await hub.kv.get("n") == 20

    asyncio.run(main())


@pytest.mark.parametrize(
    "url", ["memory://a b", "memory://../etc", "memory://x?wal=1", "memory://" + "x" * 65]
)
def test_bad_memory_urls_are_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(zerolag.ValidationError):
        zerolag.open(url, root=tmp_path)
    assert _files(tmp_path) == []


def test_a_child_process_has_its_own_memory_store(tmp_path: Path) -> None:
    """Another process naming the same store gets its own, empty one (memory is per process)."""
    import subprocess
    import sys

    with zerolag.open("memory://mine", root=tmp_path) as hub:
        hub.kv.set("k", "parent")
        code = "import zerolag; h = zerolag.open('memory://mine'); print(h.kv.get('k')); h.close()"
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
            env={**os.environ},
        )
        assert out.stdout.strip() == "None"
        assert hub.kv.get("k") == "parent"
