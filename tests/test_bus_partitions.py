"""The bus in a partitioned namespace (docs/scaling.md, "Bus"): inboxes spread by agent over
the partitions (and, on the 3-master cluster, over every master), messages by kind and to all
reach every partition with one id, ids tell their partition, idempotency stays exact. Each
test runs on every backend with ``partitions=4`` where it can: the embedded store keeps the
same promises in one file. A failover of one master of a 3+3 cluster stalls only the inboxes
of its partitions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import EVERY_PARTITIONED, PARTITIONED
from failover_kit import STALLED, hold_failover, retried, split_namespace
from servers import RedisCluster


@pytest.fixture(params=EVERY_PARTITIONED, ids=EVERY_PARTITIONED)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def of_key(key: str, n: int) -> int:
    """``engine::partition::of_key``: FNV-1a 64 of the UTF-8 bytes, modulo n."""
    h = 0xCBF29CE484222325
    for b in key.encode():
        h = ((h ^ b) * 0x100000001B3) % 2**64
    return h % n if n > 1 else 0


def spread_agents(n: int, per: int = 1) -> list[str]:
    """``per`` agent names for each of ``n`` partitions, in partition order."""
    out: list[list[str]] = [[] for _ in range(n)]
    i = 0
    while any(len(o) < per for o in out):
        name = f"agent-{i}"
        if len(out[of_key(name, n)]) < per:
            out[of_key(name, n)].append(name)
        i += 1
    return [a for o in out for a in o]


def seq(mid: str) -> int:
    return int(mid.split("-")[1])


def key(mid: str) -> tuple[int, int]:
    a, b = mid.split("-")
    return int(a), int(b)


def test_a_broadcast_and_a_kind_reach_every_partition_with_one_id(hub: zerolag.Hub) -> None:
    bus = hub.bus
    n = hub.partitions
    agents = spread_agents(4, per=2)
    for a in agents:
        bus.register(a, kinds=["k"] if agents.index(a) % 2 else [])
    b = bus.broadcast(agents[0], {"all": 1}, idempotency_key="b1")
    k = bus.share("outsider", None, {"kind": 1}, kind="k")
    for a in agents:
        got = [m.id for m in bus.pending(a, 10)]
        want = ([] if a == agents[0] else [b.id]) + ([k.id] if agents.index(a) % 2 else [])
        assert got == want, (a, got, want)
    # A retried broadcast is one message, everywhere.
    assert bus.broadcast(agents[0], {"all": 1}, idempotency_key="b1") == b
    assert all(
        len(bus.pending(a, 10)) == len(set(m.id for m in bus.pending(a, 10))) for a in agents
    )
    st = bus.stats()
    assert st.total == 2, "a message spread over partitions counts once"
    assert st.pending == (len(agents) - 1) + len(agents) // 2
    # Each recipient acks its own copy, wherever it lives; is_acked sees it.
    last = agents[-1]
    assert not bus.is_acked(k.id)
    assert bus.ack(last, k.id) and bus.is_acked(k.id)
    assert bus.ack_many(last, [b.id]) == 1
    (d,) = bus.consume(agents[1], group="g", consumer="c", count=1)
    assert d.id == b.id and bus.ack(agents[1], d, group="g", consumer="c")
    # The history has each message once.
    assert [m.id for m in bus.history(agents[0], last)] == [b.id]
    assert [m.id for m in bus.history("outsider", last)] == [k.id]
    # Agents registering later, in any partition, receive the retained broadcast.
    late = spread_agents(4, per=3)[2::3]
    for a in late:
        assert bus.register(a)
        assert [m.id for m in bus.pending(a, 10)] == [b.id], a
    assert n in (1, 4)


def test_ids_tell_their_partition_and_grow_along_one_handle(hub: zerolag.Hub) -> None:
    bus = hub.bus
    n = hub.partitions
    agents = spread_agents(4)
    for a in agents:
        bus.register(a)
    sent = [bus.share("s", a, i) for i in range(3) for a in agents]
    assert [key(m.id) for m in sent] == sorted(key(m.id) for m in sent)
    if n > 1 and hub.backend != "embedded":
        # A direct message's id comes from its recipient's partition: seq mod n says which
        # (on Redis, where ids route; the embedded store keeps one sequence).
        assert [seq(m.id) % n for m in sent] == [of_key(m.target or "", n) for m in sent]
    many = bus.share_many([{"source": "s", "target": a, "payload": a} for a in agents])
    assert [key(m.id) for m in many] == sorted(key(m.id) for m in many)
    assert key(many[0].id) > key(sent[-1].id)
    for m in many:
        assert [x.id for x in bus.pending(m.target or "", 10)][-1] == m.id
        assert bus.ack(m.target or "", m.id)
        assert bus.is_acked(m.id)
    # An id is only found in its recipient's inbox.
    with pytest.raises(zerolag.NotFoundError):
        bus.ack(agents[0], sent[1].id)
    for bad in ["1-", "-1", "x-1", "1-2-3"]:
        with pytest.raises(zerolag.ValidationError):
            bus.ack(agents[0], bad)
        with pytest.raises(zerolag.ValidationError):
            bus.is_acked(bad)
    assert not bus.is_acked("1-1")
    st = bus.stats()
    assert (st.total, st.acknowledged) == (len(sent) + len(many), len(many))


def test_a_batch_over_partitions_is_checked_before_any_write(hub: zerolag.Hub) -> None:
    bus = hub.bus
    agents = spread_agents(4)
    for a in agents:
        bus.register(a, kinds=["k"])
    before = bus.stats()
    for bad in (
        [{"source": "s", "target": a, "payload": 1} for a in agents]
        + [{"source": "s", "target": "nobody", "payload": 1}],
        [
            {"source": "s", "target": agents[1], "payload": 1},
            {"source": "s", "kind": "zz", "payload": 1},
        ],
    ):
        with pytest.raises(zerolag.NotFoundError):
            bus.share_many(bad)
    assert bus.stats().total == before.total and all(bus.pending(a) == [] for a in agents)
    batch = [
        {"source": "s", "target": agents[3], "payload": 0, "idempotency_key": "x0"},
        {"source": "s", "kind": "k", "payload": 1, "idempotency_key": "x1"},
        {"source": "s", "target": agents[0], "payload": 2, "idempotency_key": "x2"},
    ]
    sent = bus.share_many(batch)
    assert [key(m.id) for m in sent] == sorted(key(m.id) for m in sent)
    again = bus.share_many(batch)
    assert again == sent, "a retried batch is the same messages"
    assert bus.stats().total == 3
    assert [m.payload for m in bus.pending(agents[0])] == [1, 2]
    assert [m.payload for m in bus.pending(agents[3])] == [0, 1]
    assert [m.payload for m in bus.pending(agents[1])] == [1]


def test_dead_letters_and_requeue_over_partitions(hub: zerolag.Hub) -> None:
    bus = hub.bus
    agents = spread_agents(4)
    for a in agents:
        bus.register(a)
    b = bus.broadcast("s", "x")
    kw: dict[str, Any] = {"group": "g", "consumer": "c", "claim_idle_ms": 1, "max_deliveries": 1}
    for a in agents:
        assert [d.id for d in bus.consume(a, **kw)] == [b.id]
    time.sleep(0.01)
    for a in agents:
        assert bus.consume(a, **kw) == []
    dead = bus.dead_letters()
    assert sorted(d.agent for d in dead) == sorted(agents) and {d.id for d in dead} == {b.id}
    assert [d.agent for d in bus.dead_letters(agents[2])] == [agents[2]]
    assert bus.requeue([b.id]) == len(agents)
    for a in agents:
        (m,) = bus.pending(a)
        assert m.payload == "x" and m.id != b.id
        assert bus.ack(a, m.id)
    assert bus.stats().dead == 0 and bus.stats().pending == 0


def crc16(data: bytes) -> int:
    """CRC16-XMODEM, Redis Cluster's key hash."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


@pytest.mark.parametrize("backend", [PARTITIONED])
def test_keys_spread_over_every_master(
    backend: str, store_url: str, redis_cluster: Any, tmp_path: Path, namespace: str
) -> None:
    """Four partitions on three masters: a namespace whose four bus tags hash to slots of all
    three (most do; the test picks one) has its inboxes and their records on every master."""
    ns = next(
        f"{namespace}{i}"
        for i in range(1000)
        if len(
            {
                redis_cluster.owner(crc16(f"{namespace}{i}:bus:{p}".encode()) % 16384).port
                for p in range(4)
            }
        )
        == 3
    )
    servers = list(redis_cluster.nodes)
    with zerolag.open(store_url, root=tmp_path, namespace=ns, partitions=4) as hub:
        bus = hub.bus
        agents = [f"a{i}" for i in range(40)]
        for a in agents:
            bus.register(a)
        bus.share_many([{"source": "s", "target": a, "payload": a} for a in agents])
        bus.broadcast("s", "all")
        per_master = [len(s.keys(f"zl:{{{ns}:bus:*")) for s in servers]
        assert len(servers) == 3 and all(n > 0 for n in per_master), per_master
        tags = {k.split("}")[0] for s in servers for k in s.keys(f"zl:{{{ns}:bus:*")}
        assert tags == {f"zl:{{{ns}:bus:{p}" for p in range(4)}
        assert not any(s.keys(f"zl:{{{ns}:bus}}:*") for s in servers)
        # Each agent's inbox is in its partition, on the master serving that partition's slot.
        for a in agents[:8]:
            p = of_key(a, 4)
            owner = redis_cluster.owner(crc16(f"{ns}:bus:{p}".encode()) % 16384)
            assert owner.keys(f"zl:{{{ns}:bus:{p}}}:in:{a}:*"), a
        hub.clear()


def test_a_partitioned_namespace_is_shared_by_processes_opening_without_partitions(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    agents = spread_agents(4)
    for a in agents:
        hub.bus.register(a)
    with zerolag.open(store_url, root=tmp_path, namespace=namespace) as other:
        assert other.partitions == hub.partitions
        m = other.bus.broadcast("s", 1)
        assert sorted(other.bus.agents()) == sorted(agents)
    for a in agents:
        assert [x.id for x in hub.bus.pending(a)] == [m.id]


def test_export_and_import_keep_a_partitioned_bus(
    hub: zerolag.Hub,
    store_url: str | None,
    tmp_path: Path,
    namespace: str,
    partitions: int | None,
) -> None:
    bus = hub.bus
    agents = spread_agents(4)
    for a in agents:
        bus.register(a, kinds=["k"])
    b = bus.broadcast(agents[0], "all", idempotency_key="once")
    k = bus.share("s", None, "kind", kind="k", priority="high")
    direct = bus.share_many([{"source": "s", "target": a, "payload": a} for a in agents])
    (d,) = bus.consume(agents[1], group="g", consumer="c", count=1)
    assert d.id == k.id
    bus.ack(agents[2], b.id)
    path = tmp_path / "bus.zl"
    hub.export(path)
    with zerolag.open(
        store_url, root=tmp_path, namespace=namespace + "c", partitions=partitions
    ) as copy:
        copy.import_(path)
        cb = copy.bus
        for a in agents:
            assert cb.pending(a, 10) == bus.pending(a, 10), a
        st, cs = bus.stats(), cb.stats()
        assert (cs.total, cs.acknowledged, cs.pending, cs.dead, cs.per_agent) == (
            st.total,
            st.acknowledged,
            st.pending,
            st.dead,
            st.per_agent,
        )
        assert cb.history(agents[0], agents[1]) == bus.history(agents[0], agents[1])
        assert cb.agents() == bus.agents()
        assert cb.is_acked(b.id)
        # Acks and deliveries go on in the copy, through the ids the original gave.
        assert cb.ack(agents[1], d.id, group="g", consumer="c")
        for m in direct:
            assert cb.ack(m.target or "", m.id)
        assert cb.broadcast(agents[0], "all", idempotency_key="once") == b
        copy.clear()
    if partitions and store_url is not None:
        # A Redis export read partition by partition goes only into the same count (the
        # embedded store keeps one bus, so its export imports anywhere).
        with zerolag.open(store_url, root=tmp_path, namespace=namespace + "d") as other:
            with pytest.raises(zerolag.ValidationError, match="partitions=4"):
                other.import_(path)
            other.clear()


@pytest.fixture(scope="module")
def cluster_with_replicas() -> Iterator[RedisCluster]:
    """A 3+3 cluster of its own: each master has a replica to fail over to."""
    cluster = RedisCluster(masters=3, replicas=1, node_timeout_ms=1000)
    yield cluster
    cluster.stop()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", [PARTITIONED])
def test_a_failover_stalls_only_its_partitions(
    cluster_with_replicas: RedisCluster, tmp_path: Path, backend: str
) -> None:
    c = cluster_with_replicas
    n = 6
    ns, victim, down, up = split_namespace(c, "bus", n)
    agents = spread_agents(n)  # agents[p] lives in partition p
    replica = hold_failover(c, victim)
    stalled = STALLED

    with zerolag.open(c.url, root=tmp_path, namespace=ns, partitions=n) as h:
        for a in agents:
            h.bus.register(a)
        sent = {p: [h.bus.share("src", agents[p], {"i": i}).id for i in range(3)] for p in range(n)}
        victim.command("WAIT", 1, 5000)  # the replica has every message before the crash
        c.kill(victim)
        # The other masters' inboxes are served: read, acknowledged, shared to ...
        for p in up:
            got = retried(lambda p=p: h.bus.pending(agents[p], 10))
            assert sorted(m.id for m in got) == sorted(sent[p])
            assert retried(lambda p=p: h.bus.ack_many(agents[p], sent[p])) == 3
        during = retried(lambda: h.bus.share("src", agents[up[0]], "during"))
        # ... while the dead master's partitions stall until its replica takes over.
        for p in down:
            with pytest.raises(stalled):
                h.bus.pending(agents[p], 10)
        replica.command("CLUSTER", "FAILOVER", "TAKEOVER")
        c.wait_failover(victim)
        for p in down:
            back = retried(lambda p=p: h.bus.pending(agents[p], 10))
            assert sorted(m.id for m in back) == sorted(sent[p])
        assert [m.id for m in retried(lambda: h.bus.pending(agents[up[0]], 10))] == [during.id]
