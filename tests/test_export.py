"""Moving a namespace: ``hub.export(path)`` / ``hub.import_(path)`` and the ``zerolag export``,
``import`` and ``copy`` commands (docs/export.md).

A workload touches every capability's operations; its namespace is exported and imported
between every ordered pair of backends (embedded, Redis, Redis Cluster) and compared through
the public reads, then probed by behaviour (a carried claim completes, a held delivery is
claimed with its count, an idempotency key still deduplicates, ...) on source and copy alike.
Bad files (cut short, a garbage line, another format version, hostile records) are refused
with a typed error, and a failed import leaves the namespace empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner, unique_namespace
from zerolag import _core

BACKENDS = ["embedded", "redis", "cluster"]
# The archive's part of the store is its cursors and lease: the archived rows live in PostgreSQL.
NOT_EXPORTED = {
    "changes", "cache", "analytics", "trending", "limits", "sessions", "flags", "archive",
}  # fmt: skip
DAY = 86400.0
REPOS = ["acme/api", "acme/web"]
AGENTS = ["coder", "late", "planner", "tester"]


@pytest.fixture
def url_of(request: pytest.FixtureRequest) -> Callable[[str], str | None]:
    """The store URL of a backend name (servers start on first use)."""

    def get(backend: str) -> str | None:
        if backend == "embedded":
            return None
        name = "redis_url" if backend == "redis" else "cluster_url"
        return str(request.getfixturevalue(name))

    return get


@pytest.fixture
def opener(tmp_path: Path, url_of: Callable[[str], str | None]) -> Iterator[Callable[..., Any]]:
    """``opener(backend, namespace=None)``: a hub on a fresh namespace, cleared and closed
    after the test."""
    hubs: list[Any] = []

    def make(backend: str, namespace: str | None = None) -> Any:
        h = zerolag.open(
            url_of(backend), root=tmp_path / backend, namespace=namespace or unique_namespace()
        )
        hubs.append(h)
        return h

    yield make
    for h in hubs:
        if not h.closed:
            h.clear()
            h.close()


# ------------------------------------------------------------------------------------------
# The workload and what is compared
# ------------------------------------------------------------------------------------------


def workload(hub: Any) -> dict[str, Any]:
    """Every capability's operations; returns what the probe needs (a running job's claim)."""
    t0 = time.time()
    tasks = hub.tasks
    tasks.create_many(
        [
            {
                "id": "auth",
                "title": "User authentication",
                "description": "JWT login and refresh",
                "intent": "auth_implementation",
                "keywords": ["jwt", "security"],
                "patterns": ["feature_dev"],
                "confidence": 0.9,
                "complexity": "high",
                "related": ["users", "gone", "elsewhere/9"],
                "context_cascade": "contexts/app/brief.yaml",
                "estimated_effort": "2-3_days",
                "metadata": {"owner": "ana", "n": [1, 2.5, None]},
            },
            {"id": "users", "title": "Users table", "intent": "data_model", "related": ["auth"]},
            {"id": "gone", "title": "Temporary", "keywords": ["tmp"]},
            {"id": "ops/1", "title": "Deploy pipeline", "status": "in progress", "progress": 0.25},
        ]
    )
    tasks.update("users", status="done", progress=1.0, complexity=0.3, metadata={"x": 1})
    tasks.apply_handoff({"taskId": "h:3", "intent": "docs", "keywords": ["readme"]})
    tasks.delete("gone")

    docs = hub.docs
    docs.put("contexts/app/brief.yaml", {"name": "MyApp", "limits": {"rps": 10}})
    docs.put_text("contexts/app/notes.yaml", "# keep me\nowner: ana  # inline\nitems: [1, 2]\n")
    docs.merge("contexts/app/notes.yaml", {"items": [3], "new": {"a": True}})
    docs.put("workflows/deploy.json", {"steps": ["build", "ship"]})
    docs.put("contexts/tmp.yaml", {"x": 1})
    docs.delete("contexts/tmp.yaml")

    bus = hub.bus
    bus.configure(max_len=5000, max_age=7200)
    bus.register("planner", kinds=["plan"])
    bus.register("coder", kinds=["code", "review"])
    bus.register("tester")
    bus.share("planner", "coder", {"step": 1}, priority="high")
    bus.share("planner", None, {"review": "pr-7"}, kind="review", idempotency_key="rev-7")
    bus.broadcast("planner", {"note": "standup"}, priority="low")
    bus.share_many(
        [
            {"source": "tester", "target": "planner", "payload": {"ok": True}},
            {"source": "coder", "target": "tester", "payload": [1, 2], "priority": "critical"},
            {"source": "coder", "target": "tester", "payload": "x", "priority": "high"},
            {"source": "coder", "target": "planner", "payload": None, "kind": "plan"},
        ]
    )
    bus.ack("planner", bus.pending("planner")[0])
    held = bus.consume("coder", group="workers", consumer="c1", count=2)
    bus.ack("coder", held[0], group="workers", consumer="c1")
    bus.consume("tester", group="qa", consumer="q1", count=2)
    bus.consume("tester", group="qa", consumer="q2", count=2, claim_idle_ms=0, max_deliveries=1)
    dead = bus.dead_letters("tester")
    bus.requeue([dead[0]])
    bus.cleanup(older_than=3600)

    events = hub.events
    events.set_retention(max_len=500, max_age=DAY)
    for i in range(5):
        events.publish(f"task:{i % 2}", {"i": i, "at": [i, "x"]})

    jobs = hub.jobs
    made = [
        jobs.enqueue("email", {"to": "ana"}, priority=5, idempotency_key="welcome-ana"),
        jobs.enqueue("email", {"to": "bob"}),
    ]
    later = jobs.enqueue("report", {"q": 3}, delay=3600, backoff=("fixed", 2.0))
    made += [later] + jobs.enqueue_many(
        [
            {"kind": "email", "payload": {"to": "cy"}, "priority": -1},
            {"kind": "resize", "payload": None, "max_attempts": 1, "timeout": 60},
            {"kind": "flaky", "payload": {}, "backoff": ("fixed", 600)},
            {"kind": "email", "payload": {"to": "dee"}, "delay": 7200},
        ]
    )
    running = jobs.claim("email", worker="w1", visibility=300)[0]
    jobs.heartbeat(running, progress={"pct": 50})
    jobs.fail(jobs.claim("resize", worker="w2")[0], "boom")
    jobs.complete(jobs.claim("email", worker="w3")[0], {"sent": True})
    jobs.fail(jobs.claim("flaky", worker="w4")[0], "try again")
    jobs.cancel(later.id)

    pm = hub.patterns
    p = pm.store("acme/api", "naming", {"style": "snake_case"}, confidence=0.8)
    pm.store("acme/api", "naming", {"style": "snake_case"}, confidence=0.85)
    pm.store("acme/web", "layout", {"grid": 12})
    pm.update(p.id, confidence=0.9)
    pm.track_issue("acme/api", "E501", file="a.py", message="too long", at=t0 - 2 * DAY)
    pm.track_issue("acme/api", "E501", file="b.py", message="too long", at=t0)
    pm.track_issue("acme/api", "F401", file="c.py", severity="error", message="unused", at=t0 - DAY)
    pm.record_fix("acme/api", "E501", fix="wrap", accepted=True, at=t0 - DAY)
    pm.record_fix("acme/api", "F401", fix="remove", accepted=False, feedback="needed", at=t0)
    pm.record_session("acme/api", {"learned": 2}, at=t0)

    kv = hub.kv
    kv.set_many({"cfg:theme": "dark", "cfg:limits": {"rps": 10}, "blob": b"\x00\xffbin"})
    kv.set("cfg:theme", "light")  # version 2
    kv.set("session:abc", {"user": "ana"}, ttl=3600)
    kv.incr("hits", 41)
    kv.set("odd key\n*?", "odd")

    m = hub.memory
    m.space("default", 3)
    m.space("dots", 2, "dot")
    m.remember(
        "city",
        "Ana lives in Lisbon",
        valid_from=t0 - 3 * DAY,
        entities=["ana"],
        embedding=[1.0, 0.5, 0.0],
        category="home",
        source="chat:1",
    )
    m.remember(
        "city",
        {"text": "Ana moved to Berlin", "n": 2},
        valid_from=t0 - DAY,
        metadata={"via": "email"},
        kind="episodic",
        embedding=[0.0, 1.0, 0.0],
    )
    m.remember("city", "Ana lived in Porto", valid_from=t0 - 9 * DAY, valid_to=t0 - 5 * DAY)
    m.remember_many(
        [{"key": "pref", "value": "tea", "scope": {"user": "u1"}}, ("odd key\n*?|%", "odd")]
    )
    m.forget("pref", scope={"user": "u1"})
    m.relate("ana", "lives_in", "lisbon", valid_from=t0 - 3 * DAY, exclusive=True)
    m.relate(
        "ana",
        "lives_in",
        "berlin",
        valid_from=t0 - DAY,
        exclusive=True,
        embedding=[1.0, 0.0, 0.0],
        metadata={"c": 1},
        confidence=0.8,
    )
    m.relate("ana", "knows", "bo", scope={"user": "u1"})
    hub.cache.set("answer", "cached", tags=["t"])  # a cache is not exported
    hub.chat.append_many(
        "c1",
        [
            ("system", "Be brief."),
            {"role": "user", "content": "héllo", "meta": {"n": [1, 2.5, None]}},
            ("assistant", ""),
        ],
    )
    hub.chat.append("c0:x", "user", "first conversation")
    hub.activity.add_many("ana", [("login", None), ("comment", {"on": "auth"})])
    return {"claim": running, "jobs": sorted(x.id for x in made)}


def plain(v: Any) -> Any:
    """A zerolag value as plain data: its public attributes, recursively."""
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if type(v).__module__ == "zerolag._core":
        return {
            k: plain(getattr(v, k))
            for k in dir(v)
            if not k.startswith("_") and not callable(getattr(v, k))
        }
    return v


def event_view(hub: Any, exact_ids: bool) -> list[Any]:
    evs = [plain(e) for e in hub.events.read(after="0", limit=1000)]
    if not exact_ids:
        ids = [tuple(int(x) for x in e.pop("id").split("-")) for e in evs]
        assert ids == sorted(set(ids)), "event ids must still grow"
    return evs


def snapshot(hub: Any, jobs: list[str], *, exact_event_ids: bool = True) -> dict[str, Any]:
    """Everything the public reads show of the workload's namespace."""
    t, d, b, e, j, p = hub.tasks, hub.docs, hub.bus, hub.events, hub.jobs, hub.patterns
    s: dict[str, Any] = {}
    s["tasks"] = sorted((x.to_dict() for x in t.search(limit=1000).tasks), key=lambda x: x["id"])
    s["task_queries"] = [
        [x.id for x in t.search(**q).tasks]
        for q in (
            {"intent": "auth_implementation"},
            {"keywords": ["jwt"], "patterns": ["feature_dev"]},
            {"any_keywords": ["readme", "security"]},
            {"text": "pipeline"},
            {"related_to": "auth"},
            {"status": "done"},
            {"order": "recent"},
            {"min_confidence": 0.6},
        )
    ]
    s["related"] = [x.id for x in t.related("auth")]
    s["index"] = t._dump_index()
    s["count"] = t.count()
    s["docs"] = [plain(d.get(path)) for path in d.list()]
    s["writeback"] = d.pending_writeback()
    s["agents"] = b.agents()
    s["pending"] = {a: plain(b.pending(a, 100)) for a in b.agents()}
    s["history"] = {f"{x}-{y}": plain(b.history(x, y)) for x in AGENTS for y in AGENTS if x < y}
    s["bus_stats"] = plain(b.stats())
    s["dead"] = plain(b.dead_letters())
    s["acked"] = [b.is_acked(m["id"]) for h in s["history"].values() for m in h]
    s["bus_settings"] = b.configure()
    s["events"] = event_view(hub, exact_event_ids)
    s["retention"] = e.retention()
    s["event_count"] = e.count()
    if exact_event_ids:
        s["last_event"] = e.last_id()
    s["jobs"] = plain(j.get_many(jobs))
    s["patterns"] = {
        r: {
            "export": p.export(r),
            "top": plain(p.top_issues(r)),
            "window": plain(p.top_issues(r, since=time.time() - DAY)),
            "fixes": plain(p.fixes(r)),
            "acceptance": plain(p.acceptance(r)),
            "sessions": plain(p.sessions(r)),
        }
        for r in REPOS
    }
    s["kv"] = [
        (i.key, plain(i.value), i.version, i.expires_at is not None)
        for i in (hub.kv.item(k) for k in hub.kv.keys())
    ]
    s["kv_expiry"] = [round(hub.kv.item("session:abc").expires_at or 0)]
    m = hub.memory
    s["memory_spaces"] = m.spaces()
    s["memory"] = [
        plain(m.history(k, scope=sc))
        for k, sc in (("city", None), ("pref", {"user": "u1"}), ("odd key\n*?|%", None))
    ]
    s["memory_edges"] = [
        plain(m.edges(e, direction="both", as_of=time.time() - x * DAY, scope=sc))
        for e, sc in (("ana", None), ("ana", {"user": "u1"}), ("berlin", None))
        for x in (0, 2, 4)
    ]
    s["memory_neighbors"] = m.neighbors("ana", hops=2, as_of=time.time() - 2 * DAY)
    s["chat"] = {c: plain(hub.chat.recent(c)) for c in ("c1", "c0:x")}
    s["activity"] = plain(hub.activity.recent("ana"))
    return s


def probe(hub: Any, claim: Any) -> dict[str, Any]:
    """Behaviour that depends on state the reads do not show; mutates the namespace."""
    b, j, out = hub.bus, hub.jobs, {}
    # Held deliveries are not idle yet (their delivery time came along): only new messages.
    out["not_idle"] = plain(
        b.consume("coder", group="workers", consumer="c8", count=10, claim_idle_ms=3_600_000)
    )
    out["claimed"] = plain(
        b.consume("coder", group="workers", consumer="c9", count=10, claim_idle_ms=0)
    )
    out["tester"] = plain(b.consume("tester", group="qa", consumer="q9", count=10))
    out["dup"] = plain(
        b.share("planner", None, {"review": "pr-7"}, kind="review", idempotency_key="rev-7")
    )
    last = max(m.id for m in b.history("planner", "coder", 100))
    fresh = b.share("planner", "coder", {"n": 2})
    out["fresh_after"] = tuple(map(int, fresh.id.split("-"))) > tuple(map(int, last.split("-")))
    b.register("late")
    out["late"] = plain(b.pending("late"))
    # The running job is not claimable (its deadline came along); its token still works.
    out["early"] = [c.payload for c in j.claim("email", count=10, worker="p0")]
    j.heartbeat(claim, progress={"pct": 90})
    j.complete(claim, {"done": 1})
    done = j.get(claim.id)
    out["completed"] = (done.status, done.result, done.progress, done.attempts)
    out["next"] = [c.kind for c in j.claim(["email", "resize", "flaky", "report"], count=10)]
    again = j.enqueue("email", {"to": "other"}, idempotency_key="welcome-ana")
    out["idem_job"] = again.id == claim.id
    out["task_v2"] = hub.tasks.update("auth", if_version=1, title="Auth v2").version
    before = hub.events.last_id()
    hub.events.publish("task:new", {"n": 1})
    out["events_after"] = [(e.channel, e.data) for e in hub.events.read(after=before)]
    # Chat ids go on above the imported ones.
    last = hub.chat.recent("c1", 1)[0].id
    new = hub.chat.append("c1", "user", "more")
    out["chat_after"] = [m.content for m in hub.chat.range("c1", after=last)]
    out["chat_grows"] = tuple(map(int, new.split("-"))) > tuple(map(int, last.split("-")))
    return out


# ------------------------------------------------------------------------------------------
# Between backends
# ------------------------------------------------------------------------------------------


def test_every_capability_exports_data_in_the_workload(opener: Any, tmp_path: Path) -> None:
    hub = opener("embedded")
    workload(hub)
    out = hub.export(tmp_path / "ns.zl")
    assert list(out.records) == _core._capabilities()
    # The change feed is history, not data, and a cache holds what can be computed again:
    # they export nothing (see docs/export.md).
    empty = [c for c, n in out.records.items() if n == 0 and c not in NOT_EXPORTED]
    assert not empty, f"the workload leaves nothing to export for {empty}: extend it"
    lines = (tmp_path / "ns.zl").read_text().splitlines()
    assert len(lines) == out.total + 2
    header, footer = json.loads(lines[0]), json.loads(lines[-1])
    assert header["format"] == "zerolag.namespace" and header["version"] == 1
    assert header["capabilities"] == _core._capabilities()
    assert header["namespace"] == hub.namespace and header["backend"] == "embedded"
    assert footer["records"] == out.records and footer["total"] == out.total
    assert {json.loads(x)["c"] for x in lines[1:-1]} == set(_core._capabilities()) - NOT_EXPORTED


PAIRS = [(a, b) for a in BACKENDS for b in BACKENDS]


@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_copy_keeps_everything_the_api_shows(
    opener: Any, tmp_path: Path, src: str, dst: str
) -> None:
    a = opener(src)
    w = workload(a)
    path = tmp_path / "ns.zl"
    out = a.export(path)
    assert (out.namespace, out.source_backend) == (a.namespace, a.backend)
    b = opener(dst)
    got = b.import_(path)
    assert got.records == out.records and got.total == out.total
    assert (got.namespace, got.source_namespace) == (b.namespace, a.namespace)
    # Event ids from a Redis stream are renumbered on the embedded store (docs/export.md).
    exact = not (src != "embedded" and dst == "embedded")
    ids = w["jobs"]
    assert snapshot(b, ids, exact_event_ids=exact) == snapshot(a, ids, exact_event_ids=exact)
    assert probe(b, w["claim"]) == probe(a, w["claim"])


def test_a_round_trip_through_every_backend_gives_back_the_same_namespace(
    opener: Any, tmp_path: Path
) -> None:
    first = opener("embedded")
    w = workload(first)
    hubs, path = [first], tmp_path / "0.zl"
    first.export(path)
    for i, backend in enumerate(["redis", "cluster", "embedded"], 1):
        nxt = opener(backend)
        nxt.import_(path)
        path = tmp_path / f"{i}.zl"
        nxt.export(path)
        hubs.append(nxt)
    want = snapshot(first, w["jobs"])
    for h in hubs[1:]:
        assert snapshot(h, w["jobs"]) == want, h.backend
    assert probe(hubs[-1], w["claim"]) == probe(first, w["claim"])


def test_the_async_hub_exports_and_imports(
    opener: Any, tmp_path: Path, arun: AsyncRunner, store_url: str | None
) -> None:
    src = opener("embedded")
    workload(src)
    ns = unique_namespace()

    async def go() -> tuple[Any, Any]:
        a = await zerolag.open_async(None, root=tmp_path / "embedded", namespace=src.namespace)
        b = await zerolag.open_async(store_url, root=tmp_path / "async", namespace=ns)
        try:
            out = await a.export(tmp_path / "a.zl")
            got = await b.import_(tmp_path / "a.zl")
            await b.clear()
            return out, got
        finally:
            await a.close()
            await b.close()

    out, got = arun(go())
    assert got.records == out.records and out.total > 0


def test_pattern_memory_lives_its_time_to_live_from_the_import(opener: Any, tmp_path: Path) -> None:
    """Expiry is not carried (docs/export.md): an imported record lives the default time to
    live from the import, as after any write."""
    a = opener("embedded")
    a.patterns.configure(ttl=1.0)
    a.patterns.store("r/1", "t", {"x": 1})
    a.export(tmp_path / "p.zl")
    b = opener("redis")
    assert b.import_(tmp_path / "p.zl").records["patterns"] == 1
    time.sleep(1.2)
    assert a.patterns.get("r/1") == []
    assert [p.data for p in b.patterns.get("r/1")] == [{"x": 1}]


# ------------------------------------------------------------------------------------------
# Bad files and targets
# ------------------------------------------------------------------------------------------


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    """An export of a small embedded namespace."""
    with zerolag.open(root=tmp_path / "src", namespace="src") as h:
        h.tasks.create_many([{"id": f"t{i}", "title": f"task {i}"} for i in range(3)])
        h.docs.put("contexts/a.yaml", {"a": 1})
        h.bus.register("a")
        h.bus.share("b", "a", {"x": 1})
        h.events.publish("c", 1)
        h.jobs.enqueue("k", 1)
        h.patterns.store("r/1", "t", 1)
        h.kv.set("k", b"v")
        h.memory.remember("k", "v", scope={"user": "u"})
        h.memory.relate("a", "r", "b")
        h.export(tmp_path / "ok.zl")
    return tmp_path / "ok.zl"


def rewrite(src: Path, dst: Path, edit: Callable[[list[str]], list[str]]) -> Path:
    dst.write_text("".join(x + "\n" for x in edit(src.read_text().splitlines())))
    return dst


def test_a_truncated_file_is_refused_before_anything_is_written(
    hub: Any, exported: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.zl"
    cut.write_bytes(exported.read_bytes()[: exported.stat().st_size // 2])
    with pytest.raises(zerolag.ValidationError, match="cut short"):
        hub.import_(cut)
    assert hub.health().keys == 0
    whole_lines = rewrite(exported, tmp_path / "lines.zl", lambda ls: ls[:-3] + ls[-1:])
    with pytest.raises(zerolag.ValidationError, match="footer counts"):
        hub.import_(whole_lines)
    assert hub.health().keys == 0


def test_a_garbage_line_midway_undoes_the_import(hub: Any, exported: Path, tmp_path: Path) -> None:
    bad = rewrite(exported, tmp_path / "bad.zl", lambda ls: ls[:-2] + ["{not json"] + ls[-2:])
    n = len(exported.read_text().splitlines()) - 1
    with pytest.raises(zerolag.ValidationError, match=f"line {n} is not JSON"):
        hub.import_(bad)
    assert hub.health().keys == 0
    assert hub.import_(exported).total > 0  # and the namespace takes a good file after


def test_a_non_empty_namespace_is_refused(hub: Any, exported: Path) -> None:
    hub.events.publish("x", 1)
    with pytest.raises(zerolag.ConflictError, match="not empty"):
        hub.import_(exported)
    assert hub.events.count() == 1 and hub.tasks.count() == 0


def test_another_format_or_version_is_refused(hub: Any, exported: Path, tmp_path: Path) -> None:
    def header(**change: Any) -> Callable[[list[str]], list[str]]:
        def edit(ls: list[str]) -> list[str]:
            return [json.dumps({**json.loads(ls[0]), **change})] + ls[1:]

        return edit

    v2 = rewrite(exported, tmp_path / "v2.zl", header(version=2))
    with pytest.raises(zerolag.ValidationError, match="format version 2"):
        hub.import_(v2)
    other = rewrite(exported, tmp_path / "o.zl", header(format="something.else"))
    with pytest.raises(zerolag.ValidationError, match="format"):
        hub.import_(other)
    unknown = rewrite(exported, tmp_path / "u.zl", header(capabilities=["tasks", "vectors"]))
    with pytest.raises(
        zerolag.ValidationError, match="capability 'vectors'|capability \"vectors\""
    ):
        hub.import_(unknown)
    with pytest.raises(zerolag.ValidationError, match="empty"):
        hub.import_(rewrite(exported, tmp_path / "e.zl", lambda ls: []))
    assert hub.health().keys == 0


HOSTILE = [
    ("tasks", {"id": "a*b"}, "task id"),
    ("tasks", {"confidence": 7}, "confidence"),
    ("tasks", {"surprise": 1}, "unknown field"),
    ("docs", {"path": "../etc/x.yaml"}, "document path"),
    ("docs", {"hash": "00"}, "hash"),
    ("bus", {"agent": "a b"}, "agent id"),
    ("events", {"channel": "x*"}, "channel"),
    ("docs", {"surprise": 1}, "unknown field"),
    ("jobs", {"status": "running"}, "does not go with"),
    ("jobs", {"surprise": 1}, "unknown field"),
    ("jobs", {"idempotency_key": "a b"}, "idempotency key"),
    ("bus", {"message": {"id": "1-x"}}, "bus record"),
    ("patterns", {"id": "nope"}, "pattern id"),
    ("tasks", {"k": "mystery"}, "tasks record"),
    ("kv", {"type": "x"}, "type must be"),
    ("kv", {"key": ""}, "kv key"),
    ("kv", {"version": 0}, "version 0"),
    ("memory", {"version": 0}, "start at 1"),
    ("memory", {"scope": "user=*"}, "scope"),
    ("memory", {"relation": "a b"}, "relation"),
]


# Every case on the embedded store and Redis; a sample on the cluster (the checks are the
# capabilities' own, the same code on every backend).
@pytest.mark.parametrize(
    ("backend", "capability", "change", "match"),
    [(b, *case) for b in ("embedded", "redis") for case in HOSTILE]
    + [("cluster", *case) for case in HOSTILE if case[0] in ("tasks", "bus", "kv")],
    indirect=["backend"],
)
def test_a_hostile_record_is_refused_by_the_capabilitys_own_validation(
    backend: str,
    hub: Any,
    exported: Path,
    tmp_path: Path,
    capability: str,
    change: dict[str, Any],
    match: str,
) -> None:
    def edit(ls: list[str]) -> list[str]:
        rows = [json.loads(x) for x in ls]
        mine = [r for r in rows if r.get("c") == capability and r.get("k") != "seq"]
        # The first record that has the fields changed (else the first one).
        target = next((r for r in mine if set(change) <= set(r)), mine[0])
        target.update(change)
        return [json.dumps(r) for r in rows]

    bad = rewrite(exported, tmp_path / "bad.zl", edit)
    with pytest.raises(zerolag.ValidationError, match=match) as e:
        hub.import_(bad)
    assert "line " in str(e.value)
    assert hub.health().keys == 0


def test_an_oversized_line_is_refused(opener: Any, tmp_path: Path, exported: Path) -> None:
    """The bound on a line is 128 MiB; a sparse file makes one without writing it (read
    before anything reaches a store, so one backend shows it)."""
    hub = opener("embedded")
    big = tmp_path / "big.zl"
    with open(big, "wb") as f:
        f.write(exported.read_text().splitlines()[0].encode() + b"\n{")
        f.seek(129 << 20)
        f.write(b"}\n" + exported.read_text().splitlines()[-1].encode() + b"\n")
    with pytest.raises(zerolag.ValidationError, match="line 2 is longer"):
        hub.import_(big)
    assert hub.health().keys == 0


# ------------------------------------------------------------------------------------------
# The CLI
# ------------------------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "zerolag", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_cli_exports_imports_and_copies(
    tmp_path: Path, exported: Path, url_of: Callable[[str], str | None]
) -> None:
    redis = url_of("redis")
    assert redis is not None
    root = str(tmp_path / "src")
    r = cli("export", "--root", root, "--namespace", "src", "--json", "out.zl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["records"]["tasks"] == 3 and info["path"].endswith("out.zl")
    ns = unique_namespace()
    r = cli("import", "--url", redis, "--namespace", ns, "out.zl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "tasks" in r.stdout and "imported" in r.stdout
    r = cli("import", "--url", redis, "--namespace", ns, "out.zl", cwd=tmp_path)
    assert r.returncode == 2 and "ConflictError" in r.stderr
    ns2 = unique_namespace()
    r = cli(
        "copy",
        "--from",
        redis,
        "--to",
        "-",
        "--root",
        str(tmp_path / "copy"),
        "--namespace",
        ns,
        "--to-namespace",
        ns2,
        "--json",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["records"] == info["records"]
    with zerolag.open(root=tmp_path / "copy", namespace=ns2) as h:
        assert sorted(t.id for t in h.tasks.search().tasks) == ["t0", "t1", "t2"]
    # Without --namespace, an import goes into the namespace the file came from.
    r = cli("import", "--root", str(tmp_path / "again"), "out.zl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with zerolag.open(root=tmp_path / "again", namespace="src") as h:
        assert h.tasks.count() == 3
    with zerolag.open(redis, namespace=ns) as h:
        h.clear()
    r = cli("import", "--root", str(tmp_path / "x"), "missing.zl", cwd=tmp_path)
    assert r.returncode != 0 and "missing.zl" in r.stderr
