"""``hub.erase(subject)`` on every backend: two subjects seed every capability erase covers,
one is erased; it is gone through the public API and (Redis) from every key name and value
of the namespace, the other keeps everything, the report counts what went, a second erase
reports zeros, and a subject that is not an id is refused.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner

CAPS = {"activity", "bus", "chat", "flags", "memory", "sessions", "tasks"}


def subjects() -> tuple[str, str]:
    # Distinctive, so a scan of the raw store for the string finds only what is theirs.
    tag = uuid.uuid4().hex[:8]
    return f"ann{tag}", f"ben{tag}"


def seed(hub: Any, who: str, other: str, task_id: str) -> None:
    mem = hub.memory
    mem.remember("pref", f"likes tea {who}", scope={"user": who})
    mem.remember("note", "met on tuesday", scope={"user": who, "agent": "planner"})
    mem.remember("note", "met on wednesday", scope={"user": who, "agent": "planner"})
    mem.relate("tea", "served_to", "cup", scope={"user": who})
    hub.chat.append(f"{who}:support", "user", f"hello from {who}")
    hub.chat.append(f"support/{who}", "assistant", "welcome")
    hub.activity.add(who, "login", {"ip": "10.0.0.1", "by": who})
    hub.sessions.create(who, {"cart": [1, 2], "name": who}, ttl=600)
    hub.tasks.create(
        "a shared piece of work",
        id=task_id,
        metadata={"user": who, "team": "x", "watchers": [who, "carol"], "deep": {"by": who}},
    )
    hub.flags.enable("beta", who)
    hub.flags.disable("dark", who)
    bus = hub.bus
    bus.register(who, kinds=["review"])
    bus.share(who, other, {"text": "direct"}, idempotency_key=f"k-{who}")
    bus.share(who, None, {"text": "by kind"}, kind="review")
    bus.broadcast(who, {"text": "to everyone"})


def raw_hits(servers: list[Any], ns: str, needle: str) -> list[str]:
    """Every key of namespace ``ns`` whose name or value holds ``needle`` (Redis)."""
    hits = []
    for s in servers:
        for k in s.keys(f"zl:{{{ns}:*"):
            if needle in k:
                hits.append(k)
                continue
            t = s.command("TYPE", k)
            if t == "string":
                vals = [s.command("GET", k)]
            elif t == "hash":
                vals = s.command("HGETALL", k)
            elif t == "set":
                vals = s.command("SMEMBERS", k)
            elif t == "zset":
                vals = s.command("ZRANGE", k, 0, -1)
            elif t == "list":
                vals = s.command("LRANGE", k, 0, -1)
            elif t == "stream":
                vals = [str(e) for e in s.command("XRANGE", k, "-", "+")]
            else:
                vals = []
            if any(needle in (v or "") for v in vals):
                hits.append(k)
    return hits


def sqlite_hits(root: Path, needle: str) -> list[str]:
    """Every table of the embedded store under ``root`` with a row holding ``needle``."""
    db = sqlite3.connect(f"file:{root / '.zerolag' / 'zerolag.db'}?mode=ro", uri=True)
    try:
        hits = []
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{t}")')]
            cond = " OR ".join(f'instr(CAST("{c}" AS TEXT), ?) > 0' for c in cols)
            if db.execute(
                f'SELECT 1 FROM "{t}" WHERE {cond} LIMIT 1', [needle] * len(cols)
            ).fetchone():
                hits.append(t)
        return hits
    finally:
        db.close()


def stored_hits(backend: str, servers: list[Any], root: Path, ns: str, needle: str) -> list[str]:
    """Where the store still holds ``needle``: Redis keys, or embedded tables."""
    if backend == "embedded":
        return sqlite_hits(root, needle)
    return raw_hits(servers, ns, needle)


def test_erase_removes_one_subject_everywhere_and_keeps_the_other(
    hub: Any, backend: str, store_servers: list[Any], tmp_path: Path
) -> None:
    ann, ben = subjects()
    hub.bus.register("carol")
    hub.bus.register(ann)
    hub.bus.register(ben)
    seed(hub, ann, ben, "task-1")
    seed(hub, ben, ann, "task-2")
    bus = hub.bus
    # carol writes to ann (inbox, history, an idempotency key) and ann's inbox has a message
    # that becomes a dead letter after one delivery.
    bus.share("carol", ann, {"text": "for ann"}, idempotency_key="carol-1")
    got = bus.consume(ben, group="g", consumer="c1", count=100)
    assert got  # ben holds a delivery from ann (pending in its group)
    bus.consume(ann, group="g", consumer="c1", count=100, max_deliveries=1)
    bus.consume(ann, group="g", consumer="c1", count=100, claim_idle_ms=0, max_deliveries=1)
    assert bus.dead_letters(ann)
    assert stored_hits(backend, store_servers, tmp_path, hub.namespace, ann)

    report = hub.erase(ann)

    assert set(report) == CAPS
    assert report["memory"] == 4  # pref, two versions of note, one edge
    assert report["chat"] == 2
    assert report["activity"] == 1
    assert report["sessions"] == 1
    assert report["tasks"] == 1
    # ann's three shares, ben's three (direct, by kind: ann is a recipient; broadcast: no,
    # it names nobody), carol's one to ann.
    assert report["bus"] == 6
    assert report["flags"] == 2

    # ann is gone through the public API...
    assert hub.memory.history("pref", scope={"user": ann}) == []
    assert hub.memory.history("note", scope={"user": ann, "agent": "planner"}) == []
    assert hub.memory.edges("tea", scope={"user": ann}) == []
    assert hub.chat.count(f"{ann}:support") == 0
    assert hub.chat.count(f"support/{ann}") == 0
    assert hub.activity.count(ann) == 0
    assert hub.sessions.for_user(ann) == []
    t1 = hub.tasks.get("task-1")
    assert t1.metadata == {"team": "x", "watchers": ["carol"], "deep": {}}
    assert ann not in bus.agents()
    # What is left between ann and ben is ben's broadcast (it names nobody).
    assert [(m.source, m.broadcast) for m in bus.history(ann, ben)] == [(ben, True)]
    assert bus.history(ann, "carol") == []
    assert bus.dead_letters(ann) == []
    assert all(ann not in (m.source, m.target) for m in bus.pending(ben, 100))
    assert not hub.flags.enabled("beta", ann) and hub.flags.count("beta") == 1
    # ... and from the store: every Redis key name and value, every embedded table's rows.
    assert stored_hits(backend, store_servers, tmp_path, hub.namespace, ann) == []
    assert stored_hits(backend, store_servers, tmp_path, hub.namespace, ben)

    # ben keeps everything of his own (the broadcast he sent still reaches everyone).
    assert len(hub.memory.history("pref", scope={"user": ben})) == 1
    assert len(hub.memory.history("note", scope={"user": ben, "agent": "planner"})) == 2
    assert len(hub.memory.edges("tea", scope={"user": ben})) == 1
    assert hub.chat.count(f"{ben}:support") == 1
    assert hub.activity.count(ben) == 1
    assert len(hub.sessions.for_user(ben)) == 1
    t2 = hub.tasks.get("task-2")
    assert t2.metadata["user"] == ben and t2.metadata["watchers"] == [ben, "carol"]
    assert ben in bus.agents()
    assert hub.flags.enabled("beta", ben) and not hub.flags.enabled("dark", ben)
    hub.flags.enable("beta", ann)  # set again later: a setting of its own again
    assert hub.flags.enabled("beta", ann) and hub.flags.count("beta") == 2
    hub.flags.unset("beta", ann)
    assert [m.payload for m in bus.history(ben, "carol")] == [{"text": "to everyone"}]

    # The idempotency key that pointed at an erased message is free again.
    m = bus.share("carol", ben, {"text": "again"}, idempotency_key="carol-1")
    assert m.target == ben and m.payload == {"text": "again"}

    # Idempotent: nothing is left to erase.
    assert hub.erase(ann) == dict.fromkeys(CAPS, 0)


def test_erase_is_recorded_in_the_change_feed(hub: Any) -> None:
    ann, _ = subjects()
    hub.tasks.create("work", id="t1", metadata={"owner": ann, "keep": 1})
    hub.memory.remember("k", "v", scope={"user": ann})
    cursor = hub.changes.cursor()
    assert hub.erase(ann)["tasks"] == 1
    t = hub.tasks.get("t1")
    assert t.version == 2 and t.metadata == {"keep": 1}
    seen = {(c.capability, c.kind) for c in hub.changes.read(cursor).changes}
    assert ("tasks", "updated") in seen
    assert ("memory", "deleted") in seen


@pytest.mark.parametrize("bad", ["", "a b", "*", "../x", "x" * 129, "a\nb"])
def test_erase_refuses_a_subject_that_is_not_an_id(hub: Any, bad: str) -> None:
    with pytest.raises(zerolag.ValidationError):
        hub.erase(bad)


def test_async_erase(async_hub: Any, arun: AsyncRunner) -> None:
    ann, ben = subjects()
    arun(async_hub.sessions.create, ann, {}, ttl=60)
    arun(async_hub.sessions.create, ben, {}, ttl=60)
    report = arun(async_hub.erase, ann)
    assert report == {**dict.fromkeys(CAPS, 0), "sessions": 1}
    assert arun(async_hub.sessions.for_user, ann) == []
    assert len(arun(async_hub.sessions.for_user, ben)) == 1
