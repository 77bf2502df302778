"""Pattern memory (``hub.patterns``): one suite over every backend."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from anonymize_corpus import secret_corpus
from conftest import data_keys

DAY = 86400.0
REPO = "acme/api"


def days_ago(n: float) -> float:
    return time.time() - n * DAY


# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------


def test_patterns_store_get_update_delete(hub: zerolag.Hub) -> None:
    pm = hub.patterns
    a = pm.store(REPO, "naming", {"style": "snake_case"}, confidence=0.9)
    b = pm.store(REPO, "naming", {"style": "camelCase"}, confidence=0.4)
    c = pm.store(REPO, "Error Handling", {"wrap": True}, confidence=0.7)
    other = pm.store("acme/web", "naming", {"style": "snake_case"}, confidence=0.9)
    assert a.id != other.id, "the id includes the repository"
    assert (a.repo, a.type, a.data, a.observations) == (REPO, "naming", {"style": "snake_case"}, 1)
    assert c.type == "error_handling", "types are normalised like keywords"
    assert a.first_seen == a.last_seen > 0

    assert [p.id for p in pm.get(REPO)] == [a.id, c.id, b.id]
    assert [p.id for p in pm.get(REPO, "naming")] == [a.id, b.id]
    assert [p.id for p in pm.get(REPO, "naming", min_confidence=0.5)] == [a.id]
    assert [p.id for p in pm.get(REPO, limit=2)] == [a.id, c.id]
    assert pm.get("acme/other") == []

    again = pm.store(REPO, "naming", {"style": "snake_case"}, confidence=0.95)
    assert again.id == a.id and again.observations == 2 and again.confidence == 0.95
    assert again.first_seen == a.first_seen

    up = pm.update(b.id, confidence=0.99)
    assert (up.confidence, up.observations) == (0.99, 2)
    assert [p.id for p in pm.get(REPO, "naming")] == [b.id, a.id], "index follows confidence"
    up = pm.update(b.id, data={"style": "PascalCase"}, observe=False)
    assert (up.data, up.observations) == ({"style": "PascalCase"}, 2)
    assert pm.pattern(b.id) == up

    assert pm.delete(b.id) is True
    assert pm.delete(b.id) is False
    with pytest.raises(zerolag.NotFoundError):
        pm.pattern(b.id)
    with pytest.raises(zerolag.NotFoundError):
        pm.update(b.id, confidence=0.1)
    assert [p.id for p in pm.get(REPO)] == [a.id, c.id]


def test_ties_are_ordered_the_same_everywhere(hub: zerolag.Hub) -> None:
    ids = [hub.patterns.store(REPO, "t", {"n": i}, confidence=0.5).id for i in range(6)]
    hub.patterns.update(ids[3])  # one more observation wins the tie
    got = [p.id for p in hub.patterns.get(REPO, limit=3)]
    assert got == [ids[3], *sorted(i for i in ids if i != ids[3])[:2]]


# --------------------------------------------------------------------------------------------
# Issues, windows, trends
# --------------------------------------------------------------------------------------------


def test_issues_overall_and_in_a_window(hub: zerolag.Hub) -> None:
    pm = hub.patterns
    for _ in range(3):
        pm.track_issue(REPO, "E501", file="app.py", severity="warning", message="too long")
    for _ in range(5):
        pm.track_issue(REPO, "F401", file="old.py", severity="error", at=days_ago(10))
    last = pm.track_issue(REPO, "W605", file="re.py", severity="Info", at=days_ago(2))
    assert (last.count, last.severity) == (1, "info")
    pm.track_issue("acme/web", "E501")

    top = pm.top_issues(REPO)
    assert [(i.rule_id, i.count) for i in top] == [("F401", 5), ("E501", 3), ("W605", 1)]
    assert (top[1].file, top[1].message) == ("app.py", "too long")
    assert [i.rule_id for i in pm.top_issues(REPO, limit=1)] == ["F401"]

    recent = pm.top_issues(REPO, since=days_ago(3))
    assert [(i.rule_id, i.count) for i in recent] == [("E501", 3), ("W605", 1)]
    assert [i.rule_id for i in pm.top_issues(REPO, since=time.time())] == ["E501"]

    ins = pm.insights(REPO, window_days=7)
    trends = {t.rule_id: (t.current, t.previous, t.change) for t in ins.trends}
    assert trends == {"F401": (0, 5, -5), "E501": (3, 0, 3), "W605": (1, 0, 1)}
    assert [t.rule_id for t in ins.trends] == ["F401", "E501", "W605"]


# --------------------------------------------------------------------------------------------
# Fix outcomes and sessions: acceptance and retention
# --------------------------------------------------------------------------------------------


def test_fix_outcomes_keep_the_newest_1000_and_acceptance_follows(hub: zerolag.Hub) -> None:
    pm = hub.patterns
    n = 1010
    for i in range(n):
        pm.record_fix(
            REPO,
            "R1" if i % 3 else "R2",
            fix=f"fix {i}",
            accepted=i % 2 == 0,
            feedback="ok" if i % 2 == 0 else None,
        )
    kept = pm.fixes(REPO, limit=5000)
    assert len(kept) == 1000
    assert [f.fix for f in kept[:2]] == [f"fix {n - 1}", f"fix {n - 2}"]
    assert kept[-1].fix == f"fix {n - 1000}"
    assert [f.fix for f in pm.fixes(REPO, rule_id="R2", limit=2)] == ["fix 1008", "fix 1005"]
    acc = pm.acceptance(REPO)
    for rule in ("R1", "R2"):
        mine = [i for i in range(n - 1000, n) if ("R1" if i % 3 else "R2") == rule]
        assert acc[rule].total == len(mine)
        assert acc[rule].accepted == sum(1 for i in mine if i % 2 == 0)
        assert acc[rule].rate == pytest.approx(acc[rule].accepted / acc[rule].total)
    assert pm.insights(REPO).acceptance[0].rule_id == "R1"


def test_sessions_keep_the_newest_500(hub: zerolag.Hub) -> None:
    pm = hub.patterns
    for i in range(505):
        pm.record_session(REPO, {"n": i, "learned": ["naming"]})
    got = pm.sessions(REPO, limit=1000)
    assert len(got) == 500
    assert (got[0].summary["n"], got[-1].summary["n"]) == (504, 5)
    assert pm.insights(REPO).counts == {"patterns": 0, "issues": 0, "fixes": 0, "sessions": 500}


# --------------------------------------------------------------------------------------------
# Expiry
# --------------------------------------------------------------------------------------------


def test_records_expire_and_use_refreshes_them(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    pm = hub.patterns
    assert pm.configure(ttl=1.0)["ttl"] == 1.0
    kept = pm.store(REPO, "used", {"x": 1})
    pm.store(REPO, "unused", {"x": 2})
    pm.track_issue(REPO, "E1")
    pm.record_fix(REPO, "E1", fix="f", accepted=True)
    pm.record_session(REPO, {"s": 1})
    time.sleep(0.6)
    assert [p.id for p in pm.get(REPO, "used")] == [kept.id]  # a read that uses it
    time.sleep(0.6)
    assert pm.cleanup() >= 1  # at least the unused pattern (Redis drops whole keys itself)
    assert [p.id for p in pm.get(REPO)] == [kept.id]
    assert pm.top_issues(REPO) == []
    assert pm.fixes(REPO) == [] and pm.sessions(REPO) == []
    assert pm.acceptance(REPO) == {}
    h = pm.health()
    assert (h.counts["patterns"], h.counts["issues"], h.counts["fixes"]) == (1, 0, 0)
    # A record stored again after it expired starts over.
    assert pm.track_issue(REPO, "E1").count == 1
    # Nothing on Redis lives forever: every key carries an expiry.
    for s in store_servers:
        for key in s.keys(f"zl:{{{namespace}:patterns}}:*"):
            assert int(s.command("PTTL", key)) > 0, key


# --------------------------------------------------------------------------------------------
# Export and import
# --------------------------------------------------------------------------------------------


def fill(pm: zerolag.Patterns) -> None:
    pm.store(REPO, "naming", {"style": "snake_case", "n": [1, 2.5, None]}, confidence=0.3)
    pm.store(REPO, "naming", {"style": "snake_case", "n": [1, 2.5, None]}, confidence=0.85)
    pm.store(REPO, "imports", {"order": "isort"}, confidence=1.0)
    for i in range(4):
        pm.track_issue(REPO, "E501", file=f"f{i}.py", message="long", at=days_ago(i))
    pm.track_issue(REPO, "S105", severity="high", message="hardcoded password")
    for i in range(3):
        pm.record_fix(REPO, "E501", fix=f"wrap {i}", accepted=i != 1, feedback=f"fb{i}")
    pm.record_session(REPO, {"reviewed": 12, "notes": "ok"})
    pm.record_session(REPO, {"reviewed": 3})


def test_export_from_embedded_imports_into_every_backend(
    hub: zerolag.Hub, open_hub: Any, tmp_path: Path
) -> None:
    source = open_hub(namespace="src" + hub.namespace, url=None, root=tmp_path / "src")
    fill(source.patterns)
    dump = source.patterns.export(REPO)
    assert dump["format"] == "zerolag.patterns/1" and len(dump["fixes"]) == 3
    assert hub.patterns.import_(dump) == 2 + 2 + 3 + 2
    assert hub.patterns.export(REPO) == dump
    assert hub.patterns.insights(REPO).counts == source.patterns.insights(REPO).counts
    # Import replaces what the repository held, and can rename it.
    hub.patterns.store(REPO, "extra", {})
    hub.patterns.import_(dump)
    assert hub.patterns.export(REPO) == dump
    hub.patterns.import_(dump, repo="acme/copy")
    copy = hub.patterns.export("acme/copy")
    assert copy["repo"] == "acme/copy" and copy["fixes"] == dump["fixes"]


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda pm: pm.store("a b", "t", {}),
        lambda pm: pm.store("*", "t", {}),
        lambda pm: pm.store(REPO, "ty*pe", {}),
        lambda pm: pm.store(REPO, "t", {}, confidence=1.5),
        lambda pm: pm.store(REPO, "t", {}, confidence=float("nan")),
        lambda pm: pm.store(REPO, "t", {"x": "y" * 70_000}),
        lambda pm: pm.store(REPO, "t", {1, 2}),
        lambda pm: pm.get(REPO, limit=0),
        lambda pm: pm.get(REPO, min_confidence=-0.1),
        lambda pm: pm.update("nope", confidence=0.5),
        lambda pm: pm.delete("p*"),
        lambda pm: pm.track_issue(REPO, "rule id"),
        lambda pm: pm.track_issue(REPO, "E1", severity=""),
        lambda pm: pm.track_issue(REPO, "E1", at=-5),
        lambda pm: pm.top_issues(REPO, since=float("inf")),
        lambda pm: pm.record_fix(REPO, "../x", fix="f", accepted=True),
        lambda pm: pm.insights(REPO, window_days=0),
        lambda pm: pm.import_({"format": "other"}),
        lambda pm: pm.import_({"format": "zerolag.patterns/1", "repo": "r", "fixes": [{}]}),
        lambda pm: pm.configure(ttl=0),
        lambda pm: pm.configure(max_fixes=0),
        lambda pm: pm.configure(anonymize=False, disable=["email"]),
        lambda pm: pm.configure(disable=["no_such_category"]),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(hub: zerolag.Hub, call: Any) -> None:
    with pytest.raises((zerolag.ValidationError, TypeError)):
        call(hub.patterns)
    assert hub.patterns.health().counts == {
        "patterns": 0,
        "issues": 0,
        "fixes": 0,
        "sessions": 0,
        "repos": 0,
    }
    assert hub.patterns.configure()["ttl"] == 90 * DAY


# --------------------------------------------------------------------------------------------
# Anonymisation on every write: the whole store holds none of the generated secrets
# --------------------------------------------------------------------------------------------


def dump_store(backend: str, store_servers: list[Any], root: Path) -> str:
    """Everything the store holds, as text: every key's value on every Redis node, or every
    row of every table plus the raw bytes of the SQLite files."""
    parts: list[str] = []
    if backend == "embedded":
        db = root / ".zerolag" / "zerolag.db"
        con = sqlite3.connect(db)
        try:
            tables = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for t in tables:
                parts += [repr(row) for row in con.execute(f'SELECT * FROM "{t}"')]
        finally:
            con.close()
        for f in (root / ".zerolag").iterdir():
            parts.append(f.read_bytes().decode("latin-1"))
        return "\n".join(parts)
    readers = {
        "string": ("GET",),
        "hash": ("HGETALL",),
        "list": ("LRANGE", 0, -1),
        "set": ("SMEMBERS",),
        "zset": ("ZRANGE", 0, -1, "WITHSCORES"),
        "stream": ("XRANGE", "-", "+"),
    }
    for s in store_servers:
        for key in s.keys("*"):
            kind = s.command("TYPE", key)
            cmd = readers.get(kind)
            assert cmd is not None, f"unexpected type {kind} of {key}"
            parts.append(key + " " + repr(s.command(cmd[0], key, *cmd[1:])))
    return "\n".join(parts)


def test_secret_corpus_never_reaches_the_store(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], tmp_path: Path
) -> None:
    docs, secrets = secret_corpus(606, n=6)
    pm = hub.patterns
    for i, doc in enumerate(docs):
        lines = doc.splitlines()
        pm.store(REPO, "snippet", {"doc": doc, "n": [i, {"nested": doc}], doc[:40]: i})
        pm.track_issue(REPO, f"R{i % 5}", file=lines[0], message=doc)
        pm.record_fix(REPO, f"R{i % 5}", fix=doc, accepted=bool(i % 2), feedback=lines[-1])
        pm.record_session(REPO, {"summary": doc, "files": lines[:3]})
    raw = {"x": {"password": "x", "body": docs[0]}}
    pid = pm.store("acme/web", "raw", raw).id
    pm.update(pid, data={"again": docs[1]})
    dump = pm.export(REPO)
    pm.import_(dump, repo="acme/copy")
    everything = dump_store(backend, store_servers, tmp_path)
    assert "[REDACTED:" in everything, "the store holds the placeholders"
    leaked = sorted(s for s in secrets if s in everything)
    assert leaked == [], f"{len(leaked)} secrets reached the store, e.g. {leaked[:3]}"


def test_anonymisation_can_be_configured_or_turned_off(hub: zerolag.Hub) -> None:
    pm = hub.patterns
    mail = "jane.doe@example-corp.com"
    assert "[REDACTED:" in pm.store(REPO, "t", {"who": mail}).data["who"]
    pm.configure(disable=["email"], rules={"ticket": r"TICKET-\d+"})
    p = pm.store(REPO, "t", {"who": mail, "t": "TICKET-123"})
    assert p.data["who"] == mail and "[REDACTED:ticket:" in p.data["t"]
    assert pm.configure(anonymize=False)["anonymize"] is False
    assert pm.track_issue(REPO, "E1", message="ghp_" + "a" * 36).message == "ghp_" + "a" * 36
    assert pm.configure(anonymize=True)["anonymize"] is True
    assert "[REDACTED:" in pm.track_issue(REPO, "E1", message="ghp_" + "b" * 36).message


# --------------------------------------------------------------------------------------------
# Several processes: no increment lost
# --------------------------------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys, time, zerolag
    url, root, ns, n = sys.argv[1] or None, sys.argv[2], sys.argv[3], int(sys.argv[4])
    with zerolag.open(url, root=root, namespace=ns) as hub:
        pm = hub.patterns
        while time.time() < float(sys.argv[5]):  # start together, so the writes overlap
            time.sleep(0.001)
        for i in range(n):
            pm.track_issue("acme/api", "E501", file=f"f{i}.py")
            pm.store("acme/api", "naming", {"style": "snake_case"}, confidence=0.5)
            if i % 10 == 0:
                pm.record_fix("acme/api", "E501", fix="wrap", accepted=True)
    """
)


def test_processes_updating_one_repository_lose_no_increment(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    procs, n = 4, 200
    start = str(time.time() + 0.8)
    args = [store_url or "", str(tmp_path), namespace, str(n), start]
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, *args]) for _ in range(procs)]
    assert [w.wait(timeout=120) for w in workers] == [0] * procs
    pm = hub.patterns
    assert pm.top_issues(REPO)[0].count == procs * n
    assert pm.top_issues(REPO, since=time.time() - 60)[0].count == procs * n
    [p] = pm.get(REPO)
    assert p.observations == procs * n
    assert pm.acceptance(REPO)["E501"].total == procs * n // 10


# --------------------------------------------------------------------------------------------
# Health, insights, async, factory, keys
# --------------------------------------------------------------------------------------------


def test_health_and_insights(hub: zerolag.Hub) -> None:
    pm = hub.patterns
    empty = pm.health()
    assert empty.connected and empty.oldest is None and empty.newest is None
    t0 = time.time()
    fill(pm)
    h = pm.health()
    assert h.counts == {"patterns": 2, "issues": 2, "fixes": 3, "sessions": 2, "repos": 1}
    assert h.storage_bytes > 0 and h.backend == hub.backend
    assert h.oldest is not None and h.newest is not None
    assert h.oldest <= days_ago(3) + 5 and t0 - 5 <= h.newest <= time.time() + 1
    ins = pm.insights(REPO, limit=1)
    assert [p.type for p in ins.patterns] == ["imports"]
    assert [(i.rule_id, i.count) for i in ins.issues] == [("E501", 4)]
    assert [(a.rule_id, a.accepted, a.total) for a in ins.acceptance] == [("E501", 2, 3)]
    assert ins.counts == {"patterns": 2, "issues": 2, "fixes": 3, "sessions": 2}
    assert "Insights(" in repr(ins) and "PatternHealth(" in repr(h)
    assert hub.clear() > 0
    assert set(pm.health().counts.values()) == {0}, "hub.clear() empties pattern memory"


def test_health_reports_a_store_that_is_down(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server()
    with zerolag.open(server.url + "?timeout=1&retries=0", root=tmp_path) as hub:
        assert hub.patterns.health().connected
        server.stop()
        assert hub.patterns.health().connected is False


def test_async_api(async_hub: Any, arun: Any) -> None:
    pm = async_hub.patterns
    p = arun(pm.store, REPO, "naming", {"s": 1}, confidence=0.6)
    assert [x.id for x in arun(pm.get, REPO)] == [p.id]
    assert arun(pm.track_issue, REPO, "E1").count == 1
    assert arun(pm.record_fix, REPO, "E1", fix="f", accepted=True).accepted
    assert arun(pm.record_session, REPO, {"a": 1}).summary == {"a": 1}
    assert arun(pm.insights, REPO).counts["sessions"] == 1
    assert arun(pm.export, REPO)["repo"] == REPO
    assert arun(pm.health).counts["repos"] == 1
    assert arun(pm.delete, p.id) is True
    assert "AsyncPatterns" in repr(pm)


def test_create_pattern_memory_owns_its_hub(store_url: str | None, tmp_path: Path) -> None:
    with zerolag.create_pattern_memory(
        store_url, root=tmp_path, namespace="pmfactory" + str(id(tmp_path)), ttl=3600
    ) as memory:
        assert memory.configure()["ttl"] == 3600
        memory.store(REPO, "t", {"a": 1})
        assert len(memory.get(REPO)) == 1
        memory.clear()
    assert memory.closed
    with pytest.raises(zerolag.ClosedError):
        memory.get(REPO)


KEYS_DOC = Path(__file__).resolve().parent.parent / "docs" / "keys.md"


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_keys_follow_the_documented_schema(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    rows = re.findall(r"^\| `M ([^`]+)` \| ([a-z ]+) \|", KEYS_DOC.read_text(), flags=re.M)
    assert len(rows) >= 12, "docs/keys.md lost its pattern-memory key table"
    prefix = re.escape(f"zl:{{{namespace}:patterns}}:")
    rules = []
    for key, kind in rows:
        rx = re.escape(key.replace("\\|", "|"))
        rx = re.sub(r"<[a-z_]+>", r"[^|*?\\[\\]{}\\s]+", rx.replace(r"\<", "<").replace(r"\>", ">"))
        rules.append((re.compile(prefix + rx + "$"), {"sorted set": "zset"}.get(kind, kind)))
    fill(hub.patterns)
    hub.patterns.track_issue("acme/web:v2", "E1")
    keys = data_keys(store_servers, namespace)
    assert keys
    for key in keys:
        kinds = [kind for rx, kind in rules if rx.match(key)]
        assert kinds, f"{key} is not in docs/keys.md"
        owner = next(s for s in store_servers if key in s.keys(key.replace("*", r"\*")))
        assert owner.command("TYPE", key) in kinds, key
    pid = hub.patterns.get(REPO, "imports")[0].id
    hub.patterns.delete(pid)
    left = {k for s in store_servers for k in s.keys(f"zl:{{{namespace}:patterns}}:*")}
    assert not any(pid in k for k in left)
    assert not any("|imports" in k for k in left), "an emptied type index is gone"
