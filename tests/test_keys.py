"""Every Redis key zerolag writes follows docs/keys.md, for every capability in the registry:
after a workload that touches every operation, each key matches a documented key of its
capability's section with the documented type; deletes leave only the documented
bookkeeping; expiry and ``clear()`` leave nothing.

Runs on a standalone server and a 3-master cluster.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import data_keys
from zerolag import _core

DOC = Path(__file__).resolve().parent.parent / "docs" / "keys.md"
TYPES = {"sorted set": "zset"}
# A capability whose Redis tag is not its name (src/registry.rs: the row's `tag`).
TAGS = {"memory": "mem"}
SECTION = re.compile(r"^## .*tag `\{<ns>:([a-z]+)\}`, prefix `([A-Z]) = zl:\{<ns>:\1\}:`")


def documented() -> dict[str, list[tuple[str, str]]]:
    """tag -> [(key pattern after the prefix, redis type)] from docs/keys.md's sections."""
    out: dict[str, list[tuple[str, str]]] = {}
    tag = letter = None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            m = SECTION.match(line)
            tag, letter = (m.group(1), m.group(2)) if m else (None, None)
            continue
        row = re.match(r"^\| `([A-Z]) ([^`]+)` \| ([a-z ]+) \|", line)
        if tag and row and row.group(1) == letter:
            out.setdefault(tag, []).append((row.group(2), row.group(3).strip()))
    return out


def rules(ns: str) -> list[tuple[re.Pattern[str], str, str]]:
    """(regex of a full key, redis type, tag) for every documented key."""
    out = []
    for tag, keys in documented().items():
        prefix = re.escape(f"zl:{{{ns}:{tag}}}:")
        for key, kind in keys:
            pattern = re.escape(key.replace("\\|", "|"))
            pattern = re.sub(r"<[a-z_]+>", ".+", pattern.replace(r"\<", "<").replace(r"\>", ">"))
            out.append((re.compile(prefix + pattern + "$"), TYPES.get(kind, kind), tag))
    return out


def workload(hub: Any) -> None:
    """Touches every capability's operations (writes and the reads that write, such as
    consume, claim and sweeps)."""
    t = hub.tasks
    t.create_many(
        [
            {
                "id": "auth_1",
                "title": "Login flow",
                "description": "JWT and refresh tokens",
                "intent": "auth",
                "keywords": ["jwt", "Security"],
                "patterns": ["feature_dev"],
                "related": ["users/2"],
            },
            {"id": "users/2", "title": "Users", "status": "in progress", "related": ["auth_1"]},
        ]
    )
    t.update("auth_1", keywords=["oauth"], status="done")
    t.apply_handoff({"taskId": "h:3", "intent": "docs", "keywords": ["readme"]})
    t.search(intent="auth", keywords=["oauth"])
    hub.docs.put("contexts/a b/ü.yaml", {"x": 1})
    hub.docs.put_text("workflows/w.json", "[1]")
    hub.docs.merge("contexts/a b/ü.yaml", {"y": 2})
    hub.docs.delete("workflows/w.json")
    b = hub.bus
    b.register("a", kinds=["k"])
    b.register("b")
    b.configure(max_age=7200)
    b.share("b", "a", 1, priority="critical", idempotency_key="i1")
    b.share("a", None, 2, kind="k")
    b.broadcast("a", 3)
    b.consume("a", group="g", consumer="c", claim_idle_ms=1, max_deliveries=1)
    time.sleep(0.01)
    b.consume("a", group="g", consumer="c", claim_idle_ms=1, max_deliveries=1)
    b.ack("b", b.pending("b")[0].id)
    b.requeue(agent="a")
    b.history("a", "b")
    hub.events.set_retention(max_len=50, max_age=3600)
    hub.events.publish("task:a", {"s": 1})
    j = hub.jobs
    j.enqueue("k", 1, idempotency_key="once")
    j.enqueue("k", 2, delay=60)
    j.enqueue("k2", 3)
    (c,) = j.claim("k")
    j.heartbeat(c, progress=0.5)
    j.complete(c, "r")
    (c2,) = j.claim("k2", visibility=30)
    j.fail(c2, "boom", retry=False)
    j.requeue(kind="k2")
    j.register_worker("w1", kinds=["k"], interval=5)
    j.beat_worker("w1", 1, 0)
    j.register_worker("w2", kinds=["k"], interval=5)
    j.unregister_worker("w2")
    j.workers()
    p = hub.patterns
    p.store("acme/web:v2", "imports", {"style": "absolute"}, confidence=0.7)
    p.track_issue("acme/web:v2", "E1", file="a.py", message="m")
    p.record_fix("acme/web:v2", "E1", fix="fix it", accepted=True)
    p.record_session("acme/web:v2", {"n": 1})
    p.insights("acme/web:v2")
    hub.changes.read()
    kv = hub.kv
    kv.set_many({"a b\n*?": b"\x00", "user:1": "x", "n": 1})
    kv.set("tmp", "t", ttl=60)
    kv.incr("n", 2)
    kv.touch("tmp")
    list(kv.keys("user:"))
    m = hub.memory
    m.space("default", 2)
    m.remember("a b\n*?|%", "red apples", entities=["fruit"], embedding=[1.0, 0.0])
    m.remember("k", {"t": "green"}, scope={"user": "u1"}, valid_from=1.0)
    m.forget("k", scope={"user": "u1"}, at=2.0)
    m.relate("ana", "lives_in", "rome", exclusive=True, scope={"user": "u1"})
    m.relate("ana", "lives_in", "oslo", exclusive=True, scope={"user": "u1"})
    m.recall("k", scope={"user": "u1"})
    m.neighbors("ana", hops=2, scope={"user": "u1"})
    c = hub.cache
    c.set_many({"a b\n*?": b"\x00", "user:1": "x"}, tags=["users", "all"])
    c.set("tmp", "t", ttl=60, tags=["all"])
    c.get_many(["user:1", "missing"])
    c._lookup("leased", 30, "token", False)  # a lease, as the cached decorator takes one
    c.invalidate_tag("users")
    c.get("user:1")  # invalidated: removed at this read
    c.invalidate_prefix("a b")
    c.stats()
    c.set_semantic("llm:m:1", "answer", scope="m:s", embedding=[1.0, 0.0], ttl=60)
    c.match("m:s", [1.0, 0.1])
    a = hub.analytics
    a.set_retention(30)
    a.track_many([{"event": "e", "user": "u", "props": {"p": "v"}}, "f"])
    a.counts("e", by_prop="p")
    a.uniques("e")
    tr = hub.trending
    tr.define("w", window=3600)
    tr.bump("w", "x y*?")
    tr.define("d", half_life=60)
    tr.bump("d", "x")
    tr.bump("plain", "x")
    tr.top("w")
    hub.limits.check("user:1/search", 5, 60)
    hub.limits.check("user:1/search", 1, 60)
    hub.limits.peek("ip:1.2.3.4", 5, 60)
    se = hub.sessions.create("ana", {"k": [1]}, ttl=60)
    hub.sessions.update(se.id, {"j": 2})
    hub.sessions.touch(se.id)
    hub.sessions.for_user("ana")
    hub.flags.enable("beta", "ana")
    hub.flags.disable("beta", "bob")
    hub.flags.rollout("beta", 10)
    hub.flags.set_global("beta", None)
    hub.flags.enabled_many("beta", ["ana", "bob", "cy"])
    hub.chat.append("c:1", "user", "hi", {"m": 1})
    hub.chat.append_many("tmp", [("user", "a"), ("assistant", "b")])
    hub.chat.clear("tmp")
    hub.chat.recent("c:1")
    hub.activity.add_many("ana@x", [("login", None), ("comment", {"t": "x"})])
    hub.erase("b")  # an agent of the bus (its messages, inbox, registration)
    hub.erase("bob")  # a user of the flags (its bits and its slot in the users list)
    # The archive's lease and its sources' cursors (an unreachable PostgreSQL: empty sources
    # commit their cursors without it); it stays attached while the keys are listed.
    hub.archive.attach("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1", poll=0.02)
    deadline = time.monotonic() + 30
    while not hub.archive.health()["leader"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hub.archive.health()["leader"]


def owner(servers: list[Any], key: str) -> Any:
    return next(s for s in servers if key in s.keys(key.replace("*", r"\*")))


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_every_key_follows_the_documented_schema(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    workload(hub)
    found: set[str] = set()
    rs = rules(namespace)
    for key in data_keys(store_servers, namespace):
        matches = [(kind, tag) for rx, kind, tag in rs if rx.match(key)]
        assert matches, f"{key} is not in docs/keys.md"
        assert owner(store_servers, key).command("TYPE", key) == matches[0][0], key
        found.add(matches[0][1])
    # Every capability of the registry that keeps Redis keys of its own wrote some, and has
    # a section in the schema (the change feed lives under the declaring capabilities' tags).
    tags = {TAGS.get(c, c) for c in _core._capabilities() if c != "changes"}
    assert tags <= set(documented()), "a capability has no section in docs/keys.md"
    assert found == tags, f"the workload wrote no key of {sorted(tags - found)}"


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_deletes_leave_only_the_documented_bookkeeping(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    hub.tasks.create_many([{"id": "a", "title": "A", "related": ["b"]}, {"id": "b", "title": "B"}])
    hub.tasks.update("a", keywords=["k"], intent="i")
    hub.docs.put("contexts/x.yaml", {"x": 1})
    hub.jobs.enqueue("k", 1, idempotency_key="i")
    (c,) = hub.jobs.claim("k")
    hub.jobs.complete(c)
    hub.jobs.register_worker("w", kinds=["k"], interval=5)
    hub.jobs.unregister_worker("w")
    for tid in ("a", "b"):
        hub.tasks.delete(tid)
    hub.docs.delete("contexts/x.yaml")
    hub.jobs.purge()
    hub.kv.set_many({"a": 1, "b": 2})
    hub.kv.set("c", 3, ttl=30)
    hub.kv.delete_many(["a", "b", "c"])
    hub.memory.space("default", 2)
    hub.memory.remember("k", "words", entities=["e"], embedding=[1.0, 2.0])
    hub.memory.remember("k", "more words", scope={"user": "u"})
    hub.memory.relate("e", "r", "f", scope={"user": "u"})
    hub.memory.purge("k")
    hub.memory.forget_scope({"user": "u"})
    hub.cache.set_many({"a": 1, "b": 2}, tags=["t"])
    hub.cache.set("c", 3, ttl=30)
    hub.cache.set_semantic("s1", 1, scope="s", embedding=[1.0, 0.0], tags=["t"])
    hub.cache.set_semantic("s2", 2, scope="s", embedding=[0.0, 1.0])
    hub.cache.delete("a")
    hub.cache.invalidate_tag("t")
    hub.cache.invalidate_prefix("")
    hub.trending.define("w", window=3600)
    hub.trending.bump("w", "x")
    hub.trending.define("d", half_life=60)
    hub.trending.bump("d", "x")
    hub.trending.bump("p", "x")
    for board in ("w", "d", "p"):
        hub.trending.delete(board)
    left = {k.split("}:", 1)[1] if "}:" in k else k for k in data_keys(store_servers, namespace)}
    keep = {
        "changes",  # the change feed (tasks', docs')
        "changes:n",
        "writeback",  # the docs' file deletion, queued for the file sync
        "s",  # the jobs' FIFO counter
        "meta",  # memory's counters (row and edge ids, transaction time, keyword totals)
        "spaces",  # memory's declared vector spaces
        "n",  # the cache's counters (hits, misses, entries, bytes)
        "g",  # the cache's tag generations
        "sd",  # the cache's semantic scopes and their dimensions
    }
    assert left <= keep, f"orphans after delete: {sorted(left - keep)}"


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_expired_patterns_leave_nothing(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    hub.patterns.configure(ttl=1)
    workload_patterns = ("acme/x", "acme/y")
    for repo in workload_patterns:
        hub.patterns.store(repo, "naming", {"s": 1})
        hub.patterns.track_issue(repo, "E1")
        hub.patterns.record_fix(repo, "E1", fix="f", accepted=False)
        hub.patterns.record_session(repo, {"n": 1})
    time.sleep(1.2)
    hub.patterns.cleanup()
    prefix = f"zl:{{{namespace}:patterns}}:"
    left = {k for k in data_keys(store_servers, namespace) if k.startswith(prefix)}
    assert left == set(), f"left after expiry: {sorted(left)}"


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_expired_kv_keys_leave_nothing(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    hub.kv.set_many({f"k{i}": i for i in range(20)}, ttl=0.1)
    time.sleep(0.3)
    hub.kv.sweep()
    prefix = f"zl:{{{namespace}:kv}}:"
    left = {k for k in data_keys(store_servers, namespace) if k.startswith(prefix)}
    assert left == set(), f"left after expiry: {sorted(left)}"


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_expired_cache_entries_leave_only_the_counters(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    hub.cache.set_many({f"k{i}": i for i in range(20)}, ttl=0.1, tags=["t"])
    hub.cache.set_semantic("s", 1, scope="s", embedding=[1.0, 0.0], ttl=0.1)
    time.sleep(0.3)
    hub.cache.sweep()
    prefix = f"zl:{{{namespace}:cache}}:"
    left = {k for k in data_keys(store_servers, namespace) if k.startswith(prefix)}
    # The counters, the generations and (after a semantic entry) its scope's dimension and
    # the change feed that recorded it.
    keep = {prefix + x for x in ("n", "g", "sd", "changes", "changes:n")}
    assert left <= keep, f"left after expiry: {sorted(left)}"


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_clear_leaves_no_key(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    workload(hub)
    # An attached archiver goes on after a clear (its lease, its start cursors): detach it
    # first (detaching keeps the cursors, so the clear has them to delete).
    hub.archive.detach()
    hub.clear()
    left = {k for s in store_servers for k in s.keys(f"zl:{{{namespace}:*")}
    assert left == set(), f"left after clear: {sorted(left)}"
