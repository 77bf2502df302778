"""``hub.memory``'s records, graph and vector spaces on every backend: the valid-time line
with back-dated versions and ``known_at`` views, tombstones, purge, scopes that never see each
other, ``forget_scope`` leaving no key or row, exclusive edges invalidated with their
transaction time, neighbours, vector spaces, bad input refused with nothing written, another
process's write, the async twin, and a seeded random walk checked against a small pure-Python
model of the rules.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zerolag
from conftest import AsyncRunner, data_keys

T0 = 1_700_000_000.0  # valid times in these tests are T0 + small integers


def test_versions_make_one_valid_time_line(hub: Any) -> None:
    m = hub.memory
    a = m.remember("city", "Ana lives in Lisbon", valid_from=T0 + 10)
    b = m.remember("city", "Ana lives in Berlin", valid_from=T0 + 50)
    c = m.remember("city", "Ana lived in Porto", valid_from=T0)  # back-dated
    assert (a.version, b.version, c.version) == (1, 2, 3)
    assert a.row < b.row < c.row
    assert a.recorded_at <= b.recorded_at <= c.recorded_at
    assert m.recall("city", as_of=T0 + 5).value == "Ana lived in Porto"
    assert m.recall("city", as_of=T0 + 20).value == "Ana lives in Lisbon"
    assert m.recall("city").value == "Ana lives in Berlin"
    assert m.recall("city", as_of=T0 - 1) is None
    # What the store knew before the back-dated version was recorded.
    if b.recorded_at < c.recorded_at:
        assert m.recall("city", as_of=T0 + 5, known_at=b.recorded_at) is None
    hist = m.history("city")
    assert [h.version for h in hist] == [1, 2, 3]
    assert hist[0].superseded_at == b.recorded_at
    assert hist[1].superseded_at is None and hist[2].superseded_at is None
    assert hist[0].valid_to is None  # as stored: the line is derived, never rewritten


def test_forget_purge_and_values(hub: Any) -> None:
    m = hub.memory
    r = m.remember(
        "pref",
        {"theme": "dark", "n": 2},
        kind="procedural",
        category="ui",
        significance=0.9,
        entities=["ana", "ana", "ui"],
        metadata={"from": "chat"},
        source="chat:42",
        valid_from=T0,
        valid_to=T0 + 100,
    )
    assert r.value == {"theme": "dark", "n": 2}
    assert (r.kind, r.category, r.significance, r.source) == ("procedural", "ui", 0.9, "chat:42")
    assert r.entities == ["ana", "ui"] and r.metadata == {"from": "chat"}
    assert (r.valid_from, r.valid_to, r.deleted, r.has_embedding) == (T0, T0 + 100, False, False)
    assert m.recall("pref", as_of=T0 + 100) is None  # valid_to is exclusive
    t = m.forget("pref", at=T0 + 50)
    assert t.deleted and t.value is None and t.version == 2
    assert m.recall("pref", as_of=T0 + 60) is None
    assert m.recall("pref", as_of=T0 + 40).value == {"theme": "dark", "n": 2}
    assert [h.deleted for h in m.history("pref")] == [False, True]
    assert m.purge("pref") == 2
    assert m.history("pref") == [] and m.recall("pref", as_of=T0 + 40) is None
    assert m.purge("pref") == 0
    again = m.remember("pref", "light")
    assert again.version == 1
    odd = "a b\n*?[x]{y}%|é"
    assert m.remember(odd, "odd key").key == odd
    assert m.recall(odd).value == "odd key"


def test_remember_many_is_one_atomic_call(hub: Any) -> None:
    m = hub.memory
    out = m.remember_many(
        [
            ("a", "one"),
            {"key": "a", "value": "two", "valid_from": T0 + 5},
            {"key": "b", "value": [1, "x"], "scope": {"user": "u1"}},
        ]
    )
    assert [(r.key, r.version) for r in out] == [("a", 1), ("a", 2), ("b", 1)]
    assert out[2].scope == {"user": "u1"}
    with pytest.raises(zerolag.ValidationError):
        m.remember_many([("c", "ok"), {"key": "d", "value": "x", "significance": 2}])
    with pytest.raises(zerolag.ValidationError):
        m.remember_many([{"key": "e", "value": 1, "colour": "red"}])
    assert m.history("c") == [] and m.history("d") == []
    assert m.remember_many([]) == []


def test_scopes_never_see_each_other(hub: Any) -> None:
    m = hub.memory
    u1, u2 = {"user": "u1", "agent": "planner"}, {"user": "u2"}
    m.remember("k", "global")
    m.remember("k", "one", scope=u1, entities=["e"])
    m.remember("k", "two", scope=u2, entities=["e"])
    m.relate("e", "likes", "x", scope=u1)
    assert m.recall("k").value == "global"
    assert m.recall("k", scope={"agent": "planner", "user": "u1"}).value == "one"
    assert m.recall("k", scope=u2).value == "two"
    assert m.recall("k", scope={"user": "u3"}) is None
    assert [r.value for r in m.history("k", scope=u2)] == ["two"]
    assert len(m.edges("e", scope=u1)) == 1
    assert m.edges("e", scope=u2) == [] and m.edges("e") == []
    assert m.neighbors("e", scope=u2) == []
    assert m.recall("k", scope=u1).scope == {"agent": "planner", "user": "u1"}


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / ".zerolag" / "zerolag.db")


def test_forget_scope_leaves_no_key_or_row(
    hub: Any, backend: str, store_servers: list[Any], namespace: str, tmp_path: Path
) -> None:
    m = hub.memory
    m.space("default", 3)
    for user in ("gone", "kept"):
        scope = {"user": user}
        m.remember("k", f"{user} likes tea", scope=scope, entities=["tea"], embedding=[1, 2, 3])
        m.remember("k", f"{user} likes coffee", scope=scope, valid_from=T0)
        m.forget("k2", scope=scope)
        m.relate("ana", "lives_in", "rome", scope=scope, exclusive=True)
        m.relate("ana", "lives_in", "oslo", scope=scope, exclusive=True)
    assert m.forget_scope({"user": "gone"}) == 5
    assert m.history("k", scope={"user": "gone"}) == []
    assert len(m.history("k", scope={"user": "kept"})) == 2
    if backend == "embedded":
        con = _db(tmp_path)
        try:
            for table in ("mem_rows", "mem_entities", "mem_edges"):
                n = con.execute(
                    f"SELECT count(*) FROM {table} WHERE ns = ? AND scope = 'user=gone'",
                    (namespace,),
                ).fetchone()[0]
                assert n == 0, table
            rows = {
                r for (r,) in con.execute("SELECT row FROM mem_rows WHERE ns = ?", (namespace,))
            }
            posted = {
                r for (r,) in con.execute("SELECT row FROM mem_postings WHERE ns = ?", (namespace,))
            }
            assert posted <= rows
        finally:
            con.close()
    else:
        keys = data_keys(store_servers, namespace)
        assert not [k for k in keys if "user=gone" in k]
        # No row hash, posting or vector entry of the scope is left either.
        rows = {k.rsplit(":", 1)[1] for k in keys if ":mem}:r:" in k}
        assert len(rows) == 3
        for k in keys:
            if ":mem}:t:" in k or ":mem}:vs:" in k:
                owner = next(s for s in store_servers if k in s.keys(k.replace("*", r"\*")))
                members = (
                    owner.command("HKEYS", k) if ":t:" in k else owner.command("ZRANGE", k, 0, -1)
                )
                assert set(members) <= rows, k
    with pytest.raises(zerolag.ValidationError):
        m.forget_scope({})


def test_exclusive_edges_are_invalidated_and_kept(hub: Any) -> None:
    m = hub.memory
    lisbon = m.relate("ana", "lives_in", "lisbon", valid_from=T0, exclusive=True)
    m.relate("ana", "works_at", "acme", valid_from=T0)
    berlin = m.relate("ana", "lives_in", "berlin", valid_from=T0 + 50, exclusive=True)
    porto = m.relate("ana", "lives_in", "porto", valid_from=T0 + 20, exclusive=True)
    assert porto.valid_to == T0 + 50  # it ends where Berlin begins

    def at(t: float, known_at: float | None = None) -> list[str]:
        return [e.dst for e in m.edges("ana", relation="lives_in", as_of=t, known_at=known_at)]

    assert at(T0 + 10) == ["lisbon"]
    assert at(T0 + 30) == ["porto"]
    assert at(T0 + 60) == ["berlin"]
    (old,) = m.edges("ana", relation="lives_in", as_of=T0 + 10)
    assert old.id == lisbon.id
    assert old.invalidated_at == T0 + 20 and old.expired_at == porto.recorded_at
    if berlin.recorded_at < porto.recorded_at:  # (two writes in one millisecond share it)
        # Before Porto was recorded, Lisbon held until Berlin.
        assert at(T0 + 30, known_at=berlin.recorded_at) == ["lisbon"]
        (before,) = m.edges("ana", relation="lives_in", as_of=T0 + 10, known_at=berlin.recorded_at)
        assert before.invalidated_at == T0 + 50 and before.expired_at == berlin.recorded_at
    assert {e.relation for e in m.edges("ana", as_of=T0 + 60)} == {"lives_in", "works_at"}
    assert [e.src for e in m.edges("berlin", direction="in", as_of=T0 + 60)] == ["ana"]
    assert len(m.edges("ana", direction="both", as_of=T0 + 60)) == 2
    m.relate("berlin", "in", "germany", valid_from=T0)
    m.relate("germany", "in", "europe", valid_from=T0)
    assert m.neighbors("ana", hops=3, as_of=T0 + 60) == [
        ("acme", 1),
        ("berlin", 1),
        ("germany", 2),
        ("europe", 3),
    ]
    assert m.neighbors("ana", as_of=T0 + 10) == [("acme", 1), ("lisbon", 1)]
    assert "lives_in" in repr(old)
    for bad in (0, 4):
        with pytest.raises(zerolag.ValidationError):
            m.neighbors("ana", hops=bad)


def test_vector_spaces(hub: Any) -> None:
    m = hub.memory
    assert m.space("default", 3) == {"name": "default", "dim": 3, "metric": "cosine"}
    assert m.space("default", 3, "cosine")["dim"] == 3
    m.space("dots", 2, "dot")
    with pytest.raises(zerolag.ValidationError):
        m.space("default", 4)
    with pytest.raises(zerolag.ValidationError):
        m.space("default", 3, "dot")
    assert [s["name"] for s in m.spaces()] == ["default", "dots"]
    r = m.remember("v", "vec", embedding=np.array([1, 2, 3], dtype=np.float32))
    assert r.has_embedding and r.space == "default"
    assert m.remember("w", "dot", embedding=[0.0, 0.0], space="dots").has_embedding
    for bad in ([1.0, 2.0], [0.0, 0.0, 0.0], [1.0, float("nan"), 0.0], [1.0, float("inf"), 0.0]):
        with pytest.raises(zerolag.ValidationError):
            m.remember("x", "bad", embedding=bad)
    with pytest.raises(zerolag.ValidationError):
        m.remember("x", "bad", embedding=[1.0], space="nowhere")
    with pytest.raises(zerolag.ValidationError):
        m.remember("x", "bad", embedding=np.ones((2, 3), dtype=np.float32))
    assert m.history("x") == []
    e = m.relate("a", "r", "b", embedding=[1, 0, 0])
    assert e.has_embedding


def test_bad_input_is_typed_and_writes_nothing(hub: Any) -> None:
    m = hub.memory
    m.space("default", 2)
    before = dict(hub.health().by_capability)
    cases: list[Any] = [
        lambda: m.remember("", "v"),
        lambda: m.remember("k" * 513, "v"),
        lambda: m.remember("k", "v", kind="other"),  # type: ignore[arg-type]
        lambda: m.remember("k", "v", significance=1.5),
        lambda: m.remember("k", "v", valid_from=T0 + 5, valid_to=T0 + 5),
        lambda: m.remember("k", "v", valid_to=T0),  # before now
        lambda: m.remember("k", "v", entities=["a b"]),
        lambda: m.remember("k", "v", entities=[f"e{i}" for i in range(65)]),
        lambda: m.remember("k", "v", scope={"user": "*"}),
        lambda: m.remember("k", "v", scope={f"s{i}": "x" for i in range(9)}),
        lambda: m.remember("k", "x" * ((1 << 20) + 1)),
        lambda: m.remember("k", "v", metadata={"x": "y" * (64 << 10)}),
        lambda: m.remember("k", "v", valid_from=float("nan")),
        lambda: m.remember("k", "v", category=""),
        lambda: m.remember_many([("k", "v")] * 1001),
        lambda: m.recall("k", as_of=float("inf")),
        lambda: m.relate("a", "r", "b", confidence=2),
        lambda: m.relate("a*", "r", "b"),
        lambda: m.relate("a", "r", "b", valid_from=T0, valid_to=T0 - 1),
        lambda: m.edges("a", direction="up"),  # type: ignore[arg-type]
        lambda: m.space("bad name", 3),
        lambda: m.space("s", 0),
        lambda: m.space("s", 3, "l2"),  # type: ignore[arg-type]
    ]
    for i, call in enumerate(cases):
        with pytest.raises(zerolag.ValidationError):
            call()
        assert dict(hub.health().by_capability) == before, f"case {i} wrote something"
    with pytest.raises(TypeError):
        m.remember("k", "v", valid_from="yesterday")
    with pytest.raises(TypeError):
        m.remember("k", "v", scope=["user"])
    when = __import__("datetime").datetime.fromtimestamp(T0, tz=__import__("datetime").timezone.utc)
    assert m.remember("k", "v", valid_from=when).valid_from == T0


def test_another_process_sees_a_write(
    hub: Any, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    code = (
        "import sys, zerolag\n"
        "url = None if sys.argv[1] == '-' else sys.argv[1]\n"
        "with zerolag.open(url, root=sys.argv[2], namespace=sys.argv[3]) as h:\n"
        "    h.memory.remember('fact', 'from the other process', valid_from=1.0)\n"
        "    h.memory.relate('ana', 'knows', 'bo', valid_from=1.0)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, store_url or "-", str(tmp_path), namespace],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert hub.memory.recall("fact").value == "from the other process"
    assert [e.dst for e in hub.memory.edges("ana")] == ["bo"]
    changes = hub.changes.read(limit=100).changes
    assert {(c.capability, c.kind) for c in changes} >= {("memory", "created")}
    assert any(c.id.startswith("row:") for c in changes)
    assert any(c.id.startswith("edge:") for c in changes)


def test_async_twin(async_hub: Any, arun: AsyncRunner) -> None:
    async def main() -> None:
        m = async_hub.memory
        r = await m.remember("k", "v", valid_from=T0)
        assert r.version == 1
        assert (await m.recall("k")).value == "v"
        assert len(await m.history("k")) == 1
        assert (await m.forget("k")).deleted
        assert len(await m.remember_many([("k2", 1), ("k3", 2)])) == 2
        e = await m.relate("a", "r", "b", valid_from=T0)
        assert [x.id for x in await m.edges("a")] == [e.id]
        assert await m.neighbors("a") == [("b", 1)]
        assert (await m.space("s", 2))["dim"] == 2
        assert [s["name"] for s in await m.spaces()] == ["s"]
        assert await m.purge("k") == 2
        assert await m.forget_scope({"user": "x"}) == 0
        assert repr(m).startswith("AsyncMemory(")

    arun(main())


# ---- a random walk against a pure-Python model of the rules ------------------------------


@dataclass
class V:
    version: int
    vf: float
    vt: float | None
    ra: float
    deleted: bool
    value: Any
    sa: float | None = None


@dataclass
class E:
    id: int
    src: str
    rel: str
    dst: str
    vf: float
    vt: float | None
    ra: float
    inv: list[tuple[float, float]] = field(default_factory=list)

    def end(self, known_at: float | None) -> float | None:
        ends = [at for at, tx in self.inv if known_at is None or tx <= known_at]
        if self.vt is not None:
            ends.append(self.vt)
        return min(ends) if ends else None

    def valid(self, as_of: float, known_at: float | None) -> bool:
        end = self.end(known_at)
        return (
            (known_at is None or self.ra <= known_at)
            and self.vf <= as_of
            and (end is None or as_of < end)
        )


def eff_to(known: list[V], v: V) -> float | None:
    if any(w.vf == v.vf and w.version > v.version for w in known):
        return v.vf
    ends = [w.vf for w in known if w.vf > v.vf]
    if v.vt is not None:
        ends.append(v.vt)
    return min(ends) if ends else None


def model_recall(line: list[V], as_of: float, known_at: float | None) -> Any:
    known = [v for v in line if known_at is None or v.ra <= known_at]
    for v in known:
        end = eff_to(known, v)
        if v.vf <= as_of and (end is None or as_of < end):
            return None if v.deleted else v.value
    return None


def test_random_walk_matches_the_model(hub: Any) -> None:
    m = hub.memory
    rng = random.Random(16)
    scopes = [None, {"user": "u1"}]
    lines: dict[tuple[int, str], list[V]] = {}
    edges: dict[tuple[int, str], list[E]] = {}
    times: list[float] = []
    for step in range(240):
        si = rng.randrange(2)
        scope = scopes[si]
        op = rng.random()
        if op < 0.55:
            key = rng.choice(["a", "b", "c"])
            vf = T0 + rng.randrange(20)
            vt = vf + rng.randrange(1, 10) if rng.random() < 0.3 else None
            forget = rng.random() < 0.15
            if forget:
                r = m.forget(key, at=vf, scope=scope)
                vt = None
            else:
                r = m.remember(key, f"{key}{step}", valid_from=vf, valid_to=vt, scope=scope)
            line = lines.setdefault((si, key), [])
            for v in line:
                if v.sa is None:
                    end = eff_to(line, v)
                    if vf == v.vf or (v.vf < vf and (end is None or vf < end)):
                        v.sa = r.recorded_at
            line.append(V(r.version, vf, vt, r.recorded_at, forget, r.value))
            assert r.version == len(line)
            times.append(r.recorded_at)
        else:
            src = rng.choice(["ana", "bo"])
            rel = rng.choice(["lives_in", "knows"])
            dst = rng.choice(["x", "y", "z"])
            vf = T0 + rng.randrange(20)
            vt = vf + rng.randrange(1, 10) if rng.random() < 0.3 else None
            exclusive = rng.random() < 0.6
            e = m.relate(
                src, rel, dst, valid_from=vf, valid_to=vt, exclusive=exclusive, scope=scope
            )
            mine = edges.setdefault((si, src), [])
            want_vt = vt
            if exclusive:
                for o in mine:
                    if o.rel != rel:
                        continue
                    end = o.end(None)
                    if o.vf <= vf and (end is None or vf < end):
                        o.inv.append((vf, e.recorded_at))
                    elif o.vf > vf and (end is None or o.vf < end):
                        want_vt = o.vf if want_vt is None else min(want_vt, o.vf)
            assert e.valid_to == want_vt, step
            mine.append(E(e.id, src, rel, dst, vf, want_vt, e.recorded_at))
            times.append(e.recorded_at)
        if step % 20 != 19:
            continue
        # Check every line and edge set against the model.
        probes = [None, *rng.sample(times, 3), times[0] - 0.001]
        for (si, key), line in lines.items():
            hist = m.history(key, scope=scopes[si])
            assert [(h.version, h.valid_from, h.valid_to, h.deleted) for h in hist] == [
                (v.version, v.vf, v.vt, v.deleted) for v in line
            ], (si, key)
            assert [h.superseded_at for h in hist] == [v.sa for v in line], (si, key)
            for as_of in [T0 + x + 0.5 for x in range(-1, 30, 3)]:
                for known_at in probes:
                    got = m.recall(key, scope=scopes[si], as_of=as_of, known_at=known_at)
                    want = model_recall(line, as_of, known_at)
                    assert (got.value if got else None) == want, (si, key, as_of, known_at)
        for (si, src), mine in edges.items():
            for as_of in [T0 + x + 0.5 for x in range(-1, 30, 4)]:
                for known_at in probes:
                    got = {
                        e.id for e in m.edges(src, scope=scopes[si], as_of=as_of, known_at=known_at)
                    }
                    want = {e.id for e in mine if e.valid(as_of, known_at)}
                    assert got == want, (si, src, as_of, known_at)
