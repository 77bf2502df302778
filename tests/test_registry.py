"""The capability registry: every capability's data is counted by ``health()`` and removed by
``clear()`` on every backend; a database written by an older release opens and reads back; a
store written by a later release is refused; a hub dropped without ``close()`` stops its sync.
"""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import run_redis_cli, unique_namespace
from zerolag import _core

DATA = Path(__file__).resolve().parent / "data"


def _write_tasks(hub: Any) -> None:
    hub.tasks.create("Auth", intent="auth", keywords=["jwt"])


def _write_docs(hub: Any) -> None:
    hub.docs.put("contexts/a.yaml", {"x": 1})


def _write_bus(hub: Any) -> None:
    hub.bus.register("planner")
    hub.bus.share("coder", "planner", {"step": 1})


def _write_events(hub: Any) -> None:
    hub.events.publish("task:a", {"s": 1})


def _write_jobs(hub: Any) -> None:
    hub.jobs.enqueue("email", {"to": "ana"})


def _write_patterns(hub: Any) -> None:
    hub.patterns.store("acme/api", "naming", {"style": "snake"})


def _write_kv(hub: Any) -> None:
    hub.kv.set("k", b"v", ttl=60)


def _write_memory(hub: Any) -> None:
    hub.memory.remember("k", "v", entities=["e"], scope={"user": "u"})
    hub.memory.relate("e", "r", "f")


def _write_cache(hub: Any) -> None:
    hub.cache.set("k", b"v", ttl=60, tags=["t"])
    hub.cache.get("k")


def _write_analytics(hub: Any) -> None:
    hub.analytics.track("e", "u", {"p": "v"})


def _write_trending(hub: Any) -> None:
    hub.trending.bump("b", "x")


def _write_limits(hub: Any) -> None:
    hub.limits.check("user:1", 5, 60)


def _write_sessions(hub: Any) -> None:
    hub.sessions.create("ana", {"k": 1}, ttl=60)


def _write_flags(hub: Any) -> None:
    hub.flags.enable("beta", "ana")
    hub.flags.rollout("beta", 10)


def _write_chat(hub: Any) -> None:
    hub.chat.append("c1", "user", "hi", {"m": 1})


def _write_activity(hub: Any) -> None:
    hub.activity.add("ana", "login", {"ip": "10.0.0.1"})


def _write_archive(hub: Any) -> None:
    # The archive's state in the store: its lease and, for each empty source, the cursor the
    # archiver commits at once (no PostgreSQL needed: this one is unreachable).
    hub.archive.attach("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1", poll=0.02)
    deadline = time.monotonic() + 30
    while hub.health().keys < 8 and time.monotonic() < deadline:  # the lease and 7 cursors
        time.sleep(0.02)
    hub.archive.detach()


# One writer per registered capability: a capability added to the registry without one here
# fails test_every_capability_has_a_writer, so the walk below always covers all of them.
WRITERS: dict[str, Callable[[Any], None]] = {
    "tasks": _write_tasks,
    "docs": _write_docs,
    "bus": _write_bus,
    "events": _write_events,
    "jobs": _write_jobs,
    "patterns": _write_patterns,
    "changes": _write_tasks,  # the feed's entries come from the writes of tasks, docs, memory
    "kv": _write_kv,
    "memory": _write_memory,
    "cache": _write_cache,
    "analytics": _write_analytics,
    "trending": _write_trending,
    "limits": _write_limits,
    "sessions": _write_sessions,
    "flags": _write_flags,
    "chat": _write_chat,
    "activity": _write_activity,
    "archive": _write_archive,
}


def test_every_capability_has_a_writer() -> None:
    assert sorted(_core._capabilities()) == sorted(WRITERS)


@pytest.mark.parametrize("capability", sorted(WRITERS))
def test_health_counts_and_clear_removes_each_capability(hub: Any, capability: str) -> None:
    assert hub.health().keys == 0
    WRITERS[capability](hub)
    assert hub.health().keys > 0, f"{capability}'s data is not counted by health()"
    assert hub.clear() > 0
    assert hub.health().keys == 0, f"{capability}'s data survived clear()"


def _copy_v8(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(DATA / "store-v8", root)
    return root


def _user_version(root: Path) -> int:
    con = sqlite3.connect(root / ".zerolag" / "zerolag.db")
    try:
        return int(con.execute("PRAGMA user_version").fetchone()[0])
    finally:
        con.close()


def test_a_database_written_by_the_release_before_the_registry_opens(tmp_path: Path) -> None:
    root = _copy_v8(tmp_path)
    assert _user_version(root) == 8
    with zerolag.open(root=str(root), namespace="legacy") as hub:
        page = hub.tasks.search(intent="auth")
        assert sorted(t.title for t in page.tasks) == ["Password reset", "User authentication"]
        auth = next(t for t in page.tasks if t.title == "User authentication")
        assert auth.metadata == {"owner": "ana"}
        reset = next(t for t in page.tasks if t.title == "Password reset")
        assert reset.related == [auth.id]
        assert hub.docs.get("contexts/app/brief.yaml").value == {
            "name": "MyApp",
            "limits": {"rps": 10},
        }
        stats = hub.bus.stats()
        assert (stats.total, stats.pending, stats.acknowledged) == (2, 1, 1)
        assert [m.payload for m in hub.bus.pending("planner")] == [{"step": 2}]
        assert [e.data for e in hub.events.read(after="0")] == [{"status": "running"}]
        again = hub.jobs.enqueue("email", {"to": "ana"}, idempotency_key="welcome-ana")
        assert again.status == "pending" and again.attempts == 0
        done = [j for j in hub.jobs.get_many([again.id])]
        assert done[0] is not None and done[0].payload == {"to": "ana"}
        assert [p.data for p in hub.patterns.get("acme/api")] == [{"style": "snake_case"}]
        # And it takes new writes.
        new = hub.tasks.create("New", intent="auth")
        assert hub.tasks.count() == 3
        # And the steps added since (the change feed) are there.
        assert [c.id for c in hub.changes.read().changes] == [new.id]
    fresh = tmp_path / "fresh"
    zerolag.open(root=str(fresh)).close()
    assert _user_version(root) == _user_version(fresh) > 8


def test_a_database_from_a_later_release_is_refused_unchanged(tmp_path: Path) -> None:
    root = _copy_v8(tmp_path)
    db = root / ".zerolag" / "zerolag.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    before = db.read_bytes()
    with pytest.raises(zerolag.BackendError, match="newer than this zerolag"):
        zerolag.open(root=str(root), namespace="legacy")
    assert _user_version(root) == 99
    assert db.read_bytes() == before


@pytest.mark.parametrize("backend", ["redis", "cluster"], indirect=True)
def test_redis_namespace_records_its_layout_and_refuses_a_later_one(
    backend: str, store_url: str, store_servers: list[Any], tmp_path: Path
) -> None:
    ns = unique_namespace()
    key = f"zl:{{{ns}:meta}}:layout"
    with zerolag.open(store_url, root=str(tmp_path), namespace=ns) as hub:
        assert hub.health().keys == 0
        owner = next(s for s in store_servers if _get(s, key) is not None)
        assert _get(owner, key) == "1"
        hub.tasks.create("x")
    run_redis_cli(owner.port, "SET", key, "7")
    with pytest.raises(zerolag.BackendError, match="layout 7"):
        zerolag.open(store_url, root=str(tmp_path), namespace=ns)
    run_redis_cli(owner.port, "SET", key, "1")
    with zerolag.open(store_url, root=str(tmp_path), namespace=ns) as hub:
        assert hub.tasks.count() == 1
        hub.clear()
    assert _get(owner, key) is None


def _get(server: Any, key: str) -> str | None:
    out = run_redis_cli(server.port, "GET", key, check=False).strip()
    return None if out == "" or out.startswith("MOVED") else out


def _sync_threads() -> list[str]:
    names = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:
            continue
    return [n for n in names if n.startswith("zl-sync")]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_a_hub_dropped_without_close_stops_its_sync(tmp_path: Path) -> None:
    assert _sync_threads() == []
    hub = zerolag.open(root=str(tmp_path), namespace=unique_namespace())
    hub.sync.start()
    # A new thread names itself once it runs: give it a moment.
    deadline = time.monotonic() + 5
    while len(_sync_threads()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(_sync_threads()) == 2
    sync = hub.sync
    del hub, sync
    gc.collect()
    deadline = time.monotonic() + 5
    while _sync_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _sync_threads() == []
