"""The change feed (``hub.changes``) on every backend: writes append their changes in the
same atomic step, readers page and follow with cursors (sync and async), another process's
write arrives, and a reader behind the retention (or from before a clear) is told to rescan.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner


def triples(page: Any) -> list[tuple[str, str, int, str]]:
    return [(c.capability, c.id, c.version, c.kind) for c in page.changes]


def test_writes_append_what_they_changed(hub: Any) -> None:
    start = hub.changes.cursor()
    hub.tasks.create("A", id="a", intent="auth")
    hub.tasks.update("a", status="done")
    hub.docs.put("contexts/app.yaml", {"x": 1})
    hub.docs.put("contexts/app.yaml", {"x": 2})
    hub.tasks.delete("a")
    hub.docs.delete("contexts/app.yaml")
    page = hub.changes.read(start)
    # Exact order within a capability; across capabilities by time (a tie in the same
    # millisecond goes by the registry's order).
    assert [t for t in triples(page) if t[0] == "tasks"] == [
        ("tasks", "a", 1, "created"),
        ("tasks", "a", 2, "updated"),
        ("tasks", "a", 2, "deleted"),
    ]
    assert [t for t in triples(page) if t[0] == "docs"] == [
        ("docs", "contexts/app.yaml", 1, "created"),
        ("docs", "contexts/app.yaml", 2, "updated"),
        ("docs", "contexts/app.yaml", 2, "deleted"),
    ]
    times = [c.time for c in page.changes]
    assert times == sorted(times)
    assert all(isinstance(c.time, float) and c.time > 1e9 for c in page.changes)
    assert hub.changes.read(page.cursor).changes == []
    assert len(hub.changes.read()) == 6


def test_rejected_writes_append_nothing(hub: Any) -> None:
    hub.tasks.create("A", id="a")
    end = hub.changes.cursor()
    with pytest.raises(zerolag.ConflictError):
        hub.tasks.create_many([{"id": "new", "title": "n"}, {"id": "a", "title": "dup"}])
    with pytest.raises(zerolag.ConflictError):
        hub.tasks.update("a", if_version=7, status="x")
    with pytest.raises(zerolag.ValidationError):
        hub.tasks.create("bad", id="no spaces allowed")
    assert hub.changes.read(end).changes == []


def test_pages_cover_everything_once(hub: Any) -> None:
    start = hub.changes.cursor()
    hub.tasks.create_many([{"id": f"t{i}", "title": "t"} for i in range(25)])
    for i in range(5):
        hub.docs.put(f"contexts/d{i}.yaml", {"i": i})
    seen: list[tuple[str, str]] = []
    cur = start
    while True:
        page = hub.changes.read(cur, limit=7)
        if not page.changes:
            break
        assert len(page.changes) <= 7
        seen += [(c.capability, c.id) for c in page.changes]
        cur = page.cursor
    assert sorted(seen) == sorted(
        [("tasks", f"t{i}") for i in range(25)]
        + [("docs", f"contexts/d{i}.yaml") for i in range(5)]
    )


def test_bad_cursors_and_limits_are_validation_errors(hub: Any) -> None:
    for bad in ["", "nonsense", "c1;tasks=x@1", "c9", "c1;*=1@1"]:
        with pytest.raises(zerolag.ValidationError):
            hub.changes.read(bad)
    with pytest.raises(zerolag.ValidationError):
        hub.changes.read(limit=0)
    with pytest.raises(zerolag.ValidationError):
        hub.changes.read(block=-1)


def test_a_blocking_read_wakes_on_a_write(hub: Any) -> None:
    end = hub.changes.cursor()

    def later() -> None:
        time.sleep(0.2)
        hub.tasks.create("late", id="late")

    t = threading.Thread(target=later)
    t.start()
    t0 = time.monotonic()
    page = hub.changes.read(end, block=10)
    t.join()
    assert triples(page) == [("tasks", "late", 1, "created")]
    assert time.monotonic() - t0 < 5


def test_a_write_in_another_process_arrives(
    hub: Any, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    code = (
        "import sys, zerolag\n"
        "url = None if sys.argv[1] == '-' else sys.argv[1]\n"
        "with zerolag.open(url, root=sys.argv[2], namespace=sys.argv[3]) as h:\n"
        "    h.docs.put('contexts/remote.yaml', {'from': 'elsewhere'})\n"
    )
    with hub.changes.subscribe() as sub:
        proc = subprocess.run(
            [sys.executable, "-c", code, store_url or "-", str(tmp_path), namespace],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        ch = sub.get(timeout=10)
    assert ch is not None
    assert (ch.capability, ch.id, ch.kind) == ("docs", "contexts/remote.yaml", "created")


def test_a_subscription_resumes_from_its_cursor(hub: Any) -> None:
    sub = hub.changes.subscribe()
    hub.tasks.create("one", id="one")
    hub.tasks.create("two", id="two")
    assert sub.get(timeout=5).id == "one"
    assert sub.get(timeout=5).id == "two"
    cursor = sub.cursor
    sub.close()
    hub.tasks.create("three", id="three")
    again = hub.changes.subscribe(after=cursor)
    assert again.get(timeout=5).id == "three"
    assert again.get(timeout=0.1) is None


def test_a_cleared_namespace_asks_readers_to_rescan(hub: Any) -> None:
    hub.tasks.create("A", id="a")
    cursor = hub.changes.read().cursor
    hub.clear()
    hub.tasks.create("B", id="b")
    with pytest.raises(zerolag.RescanRequired) as e:
        hub.changes.read(cursor)
    assert isinstance(e.value, zerolag.ZerolagError)
    hub.tasks.create("C", id="c")
    assert triples(hub.changes.read(e.value.cursor)) == [("tasks", "c", 1, "created")]


def test_a_reader_behind_the_retention_is_asked_to_rescan(hub: Any) -> None:
    hub.tasks.create("first", id="first")
    sub = hub.changes.subscribe(after=hub.changes.read().cursor)
    for b in range(12):
        hub.tasks.create_many([{"id": f"t{b}-{i}", "title": "t"} for i in range(1000)])
    with pytest.raises(zerolag.RescanRequired):
        sub.get(timeout=5)
    # The subscription goes on from the end it found.
    hub.tasks.create("after", id="after")
    assert sub.get(timeout=5).id == "after"


def test_async_read_and_subscribe(async_hub: Any, arun: AsyncRunner) -> None:
    async def main() -> None:
        start = await async_hub.changes.cursor()
        async with async_hub.changes.subscribe() as sub:
            got = asyncio.ensure_future(sub.get(timeout=10))
            await asyncio.sleep(0.05)
            await async_hub.tasks.create("A", id="a")
            ch = await got
            assert ch is not None and (ch.id, ch.kind) == ("a", "created")
            await async_hub.docs.put("contexts/x.yaml", {"a": 1})
            ch = await sub.__anext__()
            assert ch.id == "contexts/x.yaml"
        page = await async_hub.changes.read(start, limit=10)
        assert sorted(c.id for c in page.changes) == ["a", "contexts/x.yaml"]
        assert (await async_hub.changes.read(page.cursor, block=0.05)).changes == []

    arun(main())


def test_changes_are_counted_and_cleared(hub: Any) -> None:
    hub.tasks.create("A", id="a")
    before = hub.health().keys
    hub.clear()
    assert hub.health().keys == 0 and before > 0
    assert hub.changes.read().changes == []
