"""The agent bus, on every backend (the `hub` fixture is parametrized), and on the 3-master
cluster with namespaces of 4 partitions (``cluster-p4``, docs/scaling.md)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import PARTITIONED_BACKENDS, data_keys


@pytest.fixture(params=PARTITIONED_BACKENDS, ids=PARTITIONED_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every backend, and the cluster with 4 partitions per namespace."""
    return str(request.param)


def bus_keys(ns: str) -> str:
    """The SCAN pattern of every bus key of ``ns``, in every partition."""
    return f"zl:{{{ns}:bus[}}:]*"


def stored(hub: zerolag.Hub, servers: list[Any], ns: str) -> int:
    """Entries the bus holds: rows (embedded) or stream entries + set/zset/hash members."""
    if not servers:
        return hub.health().keys
    size = {"stream": "XLEN", "zset": "ZCARD", "set": "SCARD", "hash": "HLEN", "string": None}
    n = 0
    for s in servers:
        for k in s.keys(bus_keys(ns)):
            cmd = size[s.command("TYPE", k)]
            n += int(s.command(cmd, k)) if cmd else 1
    return n


def test_share_pending_ack_round_trip(hub: zerolag.Hub) -> None:
    bus = hub.bus
    assert bus.register("dexter") is True
    assert bus.register("dexter") is False
    payload = {"query": "sales data", "n": [1, 2.5, None, True], "big": 2**62, "s": "ü\n"}
    m = bus.share("nova", "dexter", payload, priority="high", kind="Sales Data")
    assert (m.source, m.target, m.priority, m.kind) == ("nova", "dexter", "high", "sales_data")
    assert m.payload == payload and m.time > 1.7e9 and not m.broadcast
    assert "Message(id=" in repr(m)
    got = bus.pending("dexter")
    assert got == [m] and got[0].payload == payload
    assert bus.pending("dexter") == [m], "pending is a peek"
    assert not bus.is_acked(m.id)
    assert bus.ack("dexter", m.id) is True
    assert bus.is_acked(m.id) and bus.pending("dexter") == []
    assert bus.ack("dexter", m) is False, "a second ack changes nothing"
    for scalar in ("text", 7, 1.5, None, True, []):
        assert bus.share("nova", "dexter", scalar).payload == scalar
    st = bus.stats()
    assert (st.total, st.acknowledged, st.pending, st.dead) == (7, 1, 6, 0)
    assert st.per_agent == {"dexter": 6}
    assert bus.agents() == {"dexter": []}
    assert bus.ack_many("dexter", [x.id for x in bus.pending("dexter", 100)]) == 6
    assert bus.stats().pending == 0


def test_higher_priorities_are_received_first(hub: zerolag.Hub) -> None:
    bus = hub.bus
    bus.register("w")
    order = ["low", "medium", "critical", "high", "low", "critical", "medium", "high"]
    sent = [bus.share("s", "w", i, priority=p) for i, p in enumerate(order)]  # type: ignore[arg-type]
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    want = [m.id for m in sorted(sent, key=lambda m: (rank[m.priority], m.payload))]
    assert [m.id for m in bus.pending("w", 100)] == want
    got = bus.consume("w", group="g", consumer="c", count=3)
    got += bus.consume("w", group="g", consumer="c", count=10)
    assert [d.id for d in got] == want
    assert all(d.deliveries == 1 and d.consumer == "c" for d in got)


def test_routing_by_kind(hub: zerolag.Hub) -> None:
    bus = hub.bus
    bus.register("a1", kinds=["sales_data", "crm"])
    bus.register("a2", kinds=["Sales Data"])
    bus.register("a3", kinds=["other"])
    m = bus.share("nova", None, {"q": 1}, kind="sales_data")
    assert m.target is None and m.kind == "sales_data"
    assert [x.id for x in bus.pending("a1")] == [m.id]
    assert [x.id for x in bus.pending("a2")] == [m.id]
    assert bus.pending("a3") == []
    with pytest.raises(zerolag.NotFoundError, match="kind"):
        bus.share("nova", None, 1, kind="nobody_has_it")
    with pytest.raises(zerolag.ValidationError):
        bus.share("nova", None, 1)
    # re-registering replaces the kinds
    bus.register("a1", kinds=["crm"])
    m2 = bus.share("nova", None, 2, kind="sales_data")
    assert [x.id for x in bus.pending("a1")] == [m.id]
    assert [x.id for x in bus.pending("a2")] == [m.id, m2.id]
    assert bus.stats().total == 2


def test_broadcast_reaches_every_agent_and_late_registrants(hub: zerolag.Hub) -> None:
    bus = hub.bus
    bus.register("a")
    bus.register("b")
    m = bus.broadcast("a", {"news": 1}, priority="critical")
    assert m.broadcast and m.target is None
    assert bus.pending("a") == [], "the sender does not receive its own broadcast"
    assert [x.id for x in bus.pending("b")] == [m.id]
    bus.register("late")
    assert [x.id for x in bus.pending("late")] == [m.id]
    assert bus.ack("late", m.id)
    assert [x.id for x in bus.pending("b")] == [m.id], "each agent acks its own copy"
    time.sleep(0.01)  # cleanup(0) drops what is older than now, to the millisecond
    bus.cleanup(0)
    bus.register("later")
    assert bus.pending("later") == [], "retention dropped it"


def test_idempotency_key_is_not_delivered_twice(hub: zerolag.Hub) -> None:
    bus = hub.bus
    bus.register("t")
    m1 = bus.share("s", "t", {"v": 1}, idempotency_key="req-42")
    m2 = bus.share("s", "t", {"v": 1}, idempotency_key="req-42")
    assert m1 == m2
    assert len(bus.pending("t")) == 1 and bus.stats().total == 1
    bus.ack("t", m1.id)
    assert bus.share("s", "t", {"v": 1}, idempotency_key="req-42") == m1
    assert bus.pending("t") == []
    assert bus.share("s", "t", {"v": 1}, idempotency_key="req-43").id != m1.id


def test_share_many_is_one_all_or_nothing_batch(hub: zerolag.Hub) -> None:
    bus = hub.bus
    bus.register("a", kinds=["k"])
    bus.register("b", kinds=["k"])
    assert bus.share_many([]) == []
    sent = bus.share_many(
        [
            {"source": "s", "target": "a", "payload": {"i": 0}},
            {"source": "s", "target": None, "kind": "k", "payload": 1, "priority": "critical"},
            {"source": "a", "payload": "all", "broadcast": True},
            {"source": "s", "target": "b", "payload": 2, "idempotency_key": "once"},
            {"source": "s", "target": "b", "payload": 2, "idempotency_key": "once"},
        ]
    )
    assert [m.payload for m in sent] == [{"i": 0}, 1, "all", 2, 2]
    assert sent[3] == sent[4], "a repeated key in the same batch is one message"
    ids = [m.id for m in sent[:4]]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))) and len(set(ids)) == 4
    assert [m.payload for m in bus.pending("a")] == [1, {"i": 0}]
    assert [m.payload for m in bus.pending("b")] == [1, "all", 2]
    assert bus.stats().total == 4
    before = bus.stats()
    bad = [
        {"source": "s", "target": "a", "payload": "fine"},
        {"source": "s", "target": "nobody", "payload": "x"},
    ]
    with pytest.raises(zerolag.NotFoundError, match="nobody"):
        bus.share_many(bad)
    with pytest.raises(zerolag.NotFoundError, match="kind"):
        bus.share_many(
            [
                {"source": "s", "target": "a", "payload": 0},
                {"source": "s", "kind": "zz", "payload": 0},
            ]
        )
    for item, err in [
        ({"source": "s", "target": "a"}, "payload"),
        ({"target": "a", "payload": 1}, "source"),
        ({"source": "s", "target": "a", "payload": 1, "colour": "red"}, "colour"),
        ({"source": "s", "target": "a*", "payload": 1}, "agent"),
        ({"source": "s", "target": "a", "payload": 1, "broadcast": True}, "broadcast"),
    ]:
        with pytest.raises(zerolag.ValidationError, match=err):
            bus.share_many([{"source": "s", "target": "a", "payload": "ok"}, item])
    with pytest.raises(zerolag.ValidationError):
        bus.share_many({"source": "s", "target": "a", "payload": 1})  # type: ignore[arg-type]
    after = bus.stats()
    assert (after.total, after.pending) == (before.total, before.pending), "nothing half-written"


def test_history_between_two_agents(hub: zerolag.Hub) -> None:
    bus = hub.bus
    for a in ("a", "b", "c"):
        bus.register(a, kinds=["k"] if a != "c" else [])
    ab = bus.share("a", "b", 1)
    bus.share("a", "c", 2)
    ba = bus.share("b", "a", 3)
    bc = bus.broadcast("b", 4)
    kind = bus.share("c", None, 5, kind="k")
    ab2 = bus.share("a", "b", 6)
    assert [m.id for m in bus.history("a", "b")] == [ab.id, ba.id, bc.id, ab2.id]
    assert [m.id for m in bus.history("b", "a", limit=2)] == [bc.id, ab2.id]
    assert [m.id for m in bus.history("c", "a")] == [m.id for m in bus.history("a", "c")]
    assert kind.id in [m.id for m in bus.history("a", "c")]
    bus.ack("b", ab.id)
    assert bus.history("a", "b")[0].payload == 1, "history outlives acks"


def test_cleanup_drops_old_entries(hub: zerolag.Hub) -> None:
    bus = hub.bus
    bus.register("x")
    m = bus.share("s", "x", 1)
    assert bus.cleanup(3600) == 0
    bus.ack("x", m.id)
    bus.share("s", "x", 2)
    time.sleep(0.01)
    assert bus.cleanup(0) >= 3
    assert bus.pending("x") == [] and bus.history("s", "x") == []
    assert not bus.is_acked(m.id)


def test_group_claims_idle_deliveries_and_dead_letters(hub: zerolag.Hub) -> None:
    bus = hub.bus
    bus.register("w")
    m = bus.share("s", "w", {"job": 1})
    kw: dict[str, Any] = {"group": "g", "claim_idle_ms": 100, "max_deliveries": 2}
    (d1,) = bus.consume("w", consumer="c1", **kw)
    assert (d1.id, d1.deliveries, d1.consumer) == (m.id, 1, "c1")
    assert bus.consume("w", consumer="c2", **kw) == [], "not idle yet"
    time.sleep(0.15)
    (d2,) = bus.consume("w", consumer="c2", **kw)
    assert (d2.id, d2.deliveries, d2.consumer) == (m.id, 2, "c2")
    with pytest.raises(zerolag.ConflictError, match="c2"):
        bus.ack("w", m.id, group="g", consumer="c1")
    time.sleep(0.15)
    assert bus.consume("w", consumer="c3", **kw) == []
    (dead,) = bus.dead_letters()
    assert (dead.id, dead.agent, dead.group, dead.consumer, dead.deliveries) == (
        m.id,
        "w",
        "g",
        "c2",
        2,
    )
    assert "2 times" in dead.reason and dead.message.payload == {"job": 1}
    assert bus.dead_letters("other") == [] and bus.stats().dead == 1
    assert bus.pending("w") == []
    assert bus.requeue([dead]) == 1
    assert bus.dead_letters() == []
    (d3,) = bus.consume("w", consumer="c1", **kw)
    assert d3.id != m.id and d3.deliveries == 1 and d3.payload == {"job": 1}
    assert bus.ack("w", d3, group="g", consumer="c1") is True
    assert bus.stats().pending == 0


def test_group_acks_check_owner_and_change_nothing(hub: zerolag.Hub) -> None:
    bus = hub.bus
    bus.register("w1")
    bus.register("w2")
    m1 = bus.share("s", "w1", 1)
    m2 = bus.share("s", "w2", 2)
    (d,) = bus.consume("w1", group="g", consumer="c1")
    assert [x.id for x in bus.consume("w2", group="g", consumer="c9", count=1)] == [m2.id]
    with pytest.raises(zerolag.ConflictError):
        bus.ack("w1", d.id, group="g", consumer="c2")
    with pytest.raises(zerolag.ConflictError):
        bus.ack("w1", d.id, group="other", consumer="c1")
    with pytest.raises(zerolag.NotFoundError):
        bus.ack("w2", m1.id, group="g", consumer="c1")
    with pytest.raises(zerolag.NotFoundError):
        bus.ack("w1", m2.id)
    m3 = bus.share("s", "w2", 3)
    with pytest.raises(zerolag.ConflictError, match="consume it first"):
        bus.ack("w2", m3.id, group="g", consumer="c9")
    with pytest.raises(zerolag.ValidationError):
        bus.ack("w1", d.id, group="g")
    with pytest.raises(zerolag.ConflictError):
        bus.consume("w1", group="second", consumer="c1")
    # a batch with one bad id acks none of them
    with pytest.raises(zerolag.NotFoundError):
        bus.ack_many("w1", [d.id, m2.id], group="g", consumer="c1")
    assert not bus.is_acked(d.id) and bus.pending("w1") == [m1]
    assert bus.ack("w1", d.id, group="g", consumer="c1")
    assert bus.stats().acknowledged == 1


BAD_IDS = ["", "a*", "a?", "a[1]", "a b", " a", "a\n", "x" * 129, "../x", "{a}"]


def test_bad_input_is_refused_and_writes_nothing(
    hub: zerolag.Hub, store_servers: list[Any], namespace: str
) -> None:
    bus = hub.bus
    bus.register("ok")
    before = stored(hub, store_servers, namespace)
    for bad in BAD_IDS:
        with pytest.raises(zerolag.ValidationError):
            bus.register(bad)
        with pytest.raises(zerolag.ValidationError):
            bus.share(bad, "ok", 1)
        with pytest.raises(zerolag.ValidationError):
            bus.share("ok", bad, 1)
        with pytest.raises(zerolag.ValidationError):
            bus.pending(bad)
        with pytest.raises(zerolag.ValidationError):
            bus.consume(bad, group="g", consumer="c")
        with pytest.raises(zerolag.ValidationError):
            bus.consume("ok", group=bad or "*", consumer="c")
    for kind in ["a*b", "", "k[1]"]:
        with pytest.raises(zerolag.ValidationError):
            bus.register("ok2", kinds=[kind])
    with pytest.raises(zerolag.NotFoundError):
        bus.share("ok", "unknown", 1)
    with pytest.raises(zerolag.NotFoundError):
        bus.pending("unknown")
    with pytest.raises(zerolag.NotFoundError):
        bus.consume("unknown", group="g", consumer="c")
    with pytest.raises(zerolag.ValidationError, match="priority"):
        bus.share("ok", "ok", 1, priority="urgent")  # type: ignore[arg-type]
    for payload in [{1, 2}, b"bytes", float("nan"), object(), {"k": {3}}, {1: "int key"}]:
        with pytest.raises(zerolag.ValidationError):
            bus.share("ok", "ok", payload)
    bus.configure(max_payload=1000)
    with pytest.raises(zerolag.ValidationError, match="limit"):
        bus.share("ok", "ok", "x" * 1000)
    for bad_id in ["", "1", "a-1", "*", "1-2-3"]:
        with pytest.raises(zerolag.ValidationError):
            bus.ack("ok", bad_id)
        with pytest.raises(zerolag.ValidationError):
            bus.is_acked(bad_id)
    with pytest.raises(zerolag.NotFoundError):
        bus.ack("ok", "1-1")
    with pytest.raises(zerolag.ValidationError):
        bus.pending("ok", 0)
    with pytest.raises(zerolag.ValidationError):
        bus.configure(max_len=0)
    assert stored(hub, store_servers, namespace) == before
    assert bus.stats().total == 0


def test_retention_is_stored_for_every_handle_of_the_namespace(
    hub: zerolag.Hub, open_hub: Any
) -> None:
    other = open_hub()
    assert hub.bus.configure()["max_len"] == 100_000, "the default until one is stored"
    assert hub.bus.configure(max_len=200, max_age=3600)["max_len"] == 200
    got = other.bus.configure()
    assert (got["max_len"], got["max_age"]) == (200, 3600.0), "another handle reads it"
    assert other.bus.configure(max_age=60)["max_len"] == 200, "fields not given are kept"
    other.bus.register("x")
    for s in range(0, 2000, 500):
        other.bus.share_many(
            [{"source": "s", "target": "x", "payload": i} for i in range(s, s + 500)]
        )
    # Trimming is approximate on Redis (whole stream nodes of 100 entries).
    assert len(other.bus.pending("x", 1000)) <= 400


def test_stored_size_stays_bounded_under_sustained_traffic(
    hub: zerolag.Hub, store_servers: list[Any], namespace: str
) -> None:
    bus = hub.bus
    bus.configure(max_len=200)
    for a in ("a", "b"):
        bus.register(a)
    sizes = []
    for _round in range(6):
        for i in range(400):
            bus.share("src", "a" if i % 2 else "b", {"i": i}, idempotency_key=None)
        for a in ("a", "b"):
            while True:
                got = bus.consume(a, group="g", consumer="c", count=100)
                if not got:
                    break
                bus.ack_many(a, got, group="g", consumer="c")
        sizes.append(stored(hub, store_servers, namespace))
    assert bus.stats().total == 2400 and bus.stats().pending == 0
    # history and the ack log are capped at ~max_len each (approximate trimming on Redis)
    assert max(sizes) < 1200, sizes
    assert sizes[-1] <= sizes[1] + 150, sizes


def test_consume_waits_for_a_share(hub: zerolag.Hub, open_hub: Any) -> None:
    hub.bus.register("w")
    other = open_hub()
    sent: list[zerolag.Message] = []

    def later() -> None:
        time.sleep(0.2)
        sent.append(other.bus.share("s", "w", "hello"))

    t = threading.Thread(target=later)
    t.start()
    got = hub.bus.consume("w", group="g", consumer="c", block_ms=10_000)
    t.join()
    assert [d.id for d in got] == [sent[0].id]
    assert hub.bus.consume("w", group="g", consumer="c", block_ms=50) == []


def test_async_variants(async_hub: zerolag.AsyncHub, arun: Any) -> None:
    bus = async_hub.bus
    assert "AsyncBus" in repr(bus)
    assert arun(bus.register("a", kinds=["k"]))
    m = arun(bus.share("s", "a", {"x": 1}, priority="low"))
    b = arun(bus.broadcast("s", 2, priority="critical"))
    assert [x.id for x in arun(bus.pending("a"))] == [b.id, m.id]
    got = arun(bus.consume("a", group="g", consumer="c", count=1))
    assert [d.id for d in got] == [b.id]
    assert arun(bus.ack("a", got[0], group="g", consumer="c"))
    assert arun(bus.is_acked(b.id))

    got = arun(bus.consume("a", group="g", consumer="c", block_ms=10_000))
    assert [d.id for d in got] == [m.id]
    assert arun(bus.ack_many("a", [m.id], group="g", consumer="c")) == 1
    st = arun(bus.stats())
    assert (st.total, st.acknowledged, st.pending) == (2, 2, 0)
    assert [x.id for x in arun(bus.history("s", "a"))] == [m.id, b.id]
    assert arun(bus.agents()) == {"a": ["k"]}
    assert arun(bus.dead_letters()) == [] and arun(bus.requeue()) == 0
    assert arun(bus.cleanup(3600)) == 0
    assert arun(bus.configure(max_len=500))["max_len"] == 500
    many = arun(bus.share_many([{"source": "s", "target": "a", "payload": i} for i in range(3)]))
    assert [x.id for x in arun(bus.pending("a"))] == [x.id for x in many]
    assert arun(bus.clear()) > 0
    with pytest.raises(zerolag.NotFoundError):
        arun(bus.pending("a"))


def bus_schema(ns: str) -> list[tuple[re.Pattern[str], str]]:
    """(regex, redis type) for every bus key documented in docs/keys.md."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "keys.md").read_text()
    rows = re.findall(r"^\| `B ([^`]+)` \| ([a-z ]+) \|", text, flags=re.M)
    assert len(rows) >= 10, "docs/keys.md lost its bus key table"
    out = []
    for key, kind in rows:
        pattern = re.sub(r"<[a-z]+>", r"[^\\s*?\\[\\]{}]+", re.escape(key).replace(r"\<", "<"))
        pattern = pattern.replace(r"\>", "").replace(">", "")
        out.append(
            (
                re.compile(re.escape(f"zl:{{{ns}:bus") + r"(:[0-9]+)?\}:" + pattern + "$"),
                {"sorted set": "zset"}.get(kind.strip(), kind.strip()),
            )
        )
    return out


@pytest.mark.parametrize("backend", ["redis", "cluster", "cluster-p4"])
def test_bus_keys_follow_the_documented_schema(
    hub: zerolag.Hub, backend: str, store_servers: list[Any], namespace: str
) -> None:
    bus = hub.bus
    bus.register("a", kinds=["k"])
    bus.register("b")
    bus.configure(max_age=7200)
    m = bus.share("b", "a", 1, priority="critical", idempotency_key="i1")
    bus.share("a", None, 2, kind="k")
    bus.broadcast("a", 3)
    (d, *_) = bus.consume("a", group="g", consumer="c", claim_idle_ms=1, max_deliveries=1)
    time.sleep(0.01)
    bus.consume("a", group="g", consumer="c", claim_idle_ms=1, max_deliveries=1)
    bus.ack("b", bus.pending("b")[0].id)
    assert m.id == d.id and bus.stats().dead >= 1
    rules = bus_schema(namespace)
    keys = {k for s in store_servers for k in s.keys(bus_keys(namespace))}
    assert len(keys) >= 10, keys
    for key in keys:
        matches = [kind for rx, kind in rules if rx.match(key)]
        assert matches, f"{key} is not in docs/keys.md"
        owner = next(s for s in store_servers if key in s.keys(key))
        assert owner.command("TYPE", key) == matches[0], key
    hub.clear()
    left = data_keys(store_servers, namespace)
    assert left == set(), f"left after clear: {sorted(left)}"
