"""hub.jobs in a partitioned namespace (docs/scaling.md "Jobs"): keys spread over every master
of the cluster, jobs routed by key (the same partition in every process), ids that carry their
partition, claims that serve every partition, workers pinned to partitions, export and import.
Runs on the embedded store and the 3-master cluster with ``partitions=4``."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jobs_backends
import pytest
import zerolag
from conftest import PARTITIONED, data_keys, unique_namespace
from failover_kit import STALLED, hold_failover, retried, split_namespace
from servers import RedisCluster
from zerolag import NotFoundError, ValidationError

N = 4
partitions = jobs_backends.partitions
store_url = jobs_backends.store_url
store_servers = jobs_backends.store_servers


@pytest.fixture(params=[jobs_backends.EMBEDDED_PARTITIONED, PARTITIONED])
def backend(request: pytest.FixtureRequest) -> str:
    """The partitioned backends only: every test here is about partitions."""
    return str(request.param)


def fnv1a_64(s: str) -> int:
    """FNV-1a, 64 bit, of the UTF-8 bytes: the routing hash, written out again here so the
    test pins it across languages."""
    h = 0xCBF29CE484222325
    for b in s.encode():
        h ^= b
        h = (h * 0x100000001B3) % (1 << 64)
    return h


def test_ids_carry_their_partition(hub: zerolag.Hub) -> None:
    assert hub.partitions == N
    jobs = [hub.jobs.enqueue("k", i) for i in range(3 * N)]
    parts = Counter(hub.jobs.partition_of(j.id) for j in jobs)
    assert sorted(parts) == list(range(N)), "round-robin reaches every partition"
    for j in jobs:
        assert j.id.endswith(f"-{hub.jobs.partition_of(j.id)}")
        assert hub.jobs.get(j.id).payload == j.payload
    with pytest.raises(ValidationError, match="partition"):
        hub.jobs.get(jobs[0].id.rsplit("-", 1)[0] + f"-{N}")
    with pytest.raises(ValidationError):
        hub.jobs.partition_of(f"j1-{N + 3}")
    with pytest.raises(NotFoundError):
        hub.jobs.get("j00-1")
    with pytest.raises(NotFoundError):
        hub.jobs.cancel("nosuch")


def test_keys_route_to_the_same_partition_in_every_process(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    keys = [f"user-{i}" for i in range(12)]
    here = {k: hub.jobs.partition_of(hub.jobs.enqueue("k", 1, key=k).id) for k in keys}
    assert here == {k: fnv1a_64(k) % N for k in keys}
    code = (
        "import sys, zerolag\n"
        "h = zerolag.open(sys.argv[1] or None, root=sys.argv[2], namespace=sys.argv[3])\n"
        "for k in sys.argv[4:]:\n"
        "    print(k, h.jobs.partition_of(h.jobs.enqueue('k', 2, key=k).id))\n"
        "h.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, store_url or "", str(tmp_path), namespace, *keys],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    there = {k: int(p) for k, p in (line.split() for line in out.splitlines())}
    assert there == here
    # The idempotency key routes a job without a key, so a repeat always meets the first.
    first = hub.jobs.enqueue("k", 1, idempotency_key="pay-9")
    assert hub.jobs.partition_of(first.id) == fnv1a_64("pay-9") % N
    again = hub.jobs.enqueue_many([{"kind": "k", "idempotency_key": "pay-9"}] * 3)
    assert {j.id for j in again} == {first.id}


def test_same_key_is_claimed_in_enqueue_order(hub: zerolag.Hub) -> None:
    mine = []
    for i in range(8):
        mine.append(hub.jobs.enqueue("k", i, key="order-1").id)
        hub.jobs.enqueue("k", 100 + i)  # round-robin noise in every partition
    order = []
    while claims := hub.jobs.claim("k", count=3):
        order += [c.id for c in claims]
    assert len(order) == 16
    assert [i for i in order if i in mine] == mine


def test_every_partition_is_served_and_pins_hold(hub: zerolag.Hub) -> None:
    by_part: dict[int, set[str]] = {}
    for i in range(10 * N):
        j = hub.jobs.enqueue("k", i)
        by_part.setdefault(hub.jobs.partition_of(j.id), set()).add(j.id)
    assert sorted(by_part) == list(range(N))
    # One job per claim: the first N claims take one job from each partition.
    first = [hub.jobs.claim("k")[0].id for _ in range(N)]
    assert sorted(hub.jobs.partition_of(i) for i in first) == list(range(N))
    # A worker pinned to partitions 1 and 3 takes theirs, and only theirs.
    pinned: set[str] = set()
    while claims := hub.jobs.claim("k", count=7, partitions=[3, 1]):
        pinned |= {c.id for c in claims}
    assert pinned == (by_part[1] | by_part[3]) - set(first)
    with pytest.raises(ValidationError, match="out of range"):
        hub.jobs.claim("k", partitions=[N])
    with pytest.raises(ValidationError):
        hub.jobs.claim("k", partitions=[])
    rest = {c.id for c in hub.jobs.claim("k", count=100)}
    assert rest == (by_part[0] | by_part[2]) - set(first)


def test_a_blocking_claim_wakes_for_any_partition(hub: zerolag.Hub) -> None:
    for p in (N - 1, 1):
        got: list[Any] = []
        t = threading.Thread(target=lambda g=got: g.extend(hub.jobs.claim("k", block_ms=30_000)))
        t.start()
        time.sleep(0.3)
        key = next(f"w{x}" for x in range(1000) if fnv1a_64(f"w{x}") % N == p)
        job = hub.jobs.enqueue("k", p, key=key)
        t.join(30)
        assert not t.is_alive()
        assert [c.id for c in got] == [job.id]
        assert hub.jobs.partition_of(job.id) == p


def test_a_pinned_worker_runs_only_its_partitions(hub: zerolag.Hub) -> None:
    jobs = [hub.jobs.enqueue("k", i) for i in range(6 * N)]
    seen: list[str] = []
    worker = hub.jobs.worker(
        {"k": lambda ctx: seen.append(ctx.id)}, concurrency=2, partitions=[0, 2]
    )
    worker.run(burst=True)
    want = {j.id for j in jobs if hub.jobs.partition_of(j.id) in (0, 2)}
    assert set(seen) == want and len(seen) == len(want)
    left = Counter(hub.jobs.get(j.id).status for j in jobs if j.id not in want)
    assert left == {"pending": len(jobs) - len(want)}


def test_async_claims_take_partitions(async_hub: Any, arun: Any) -> None:
    async def go() -> tuple[set[int], list[Any]]:
        for i in range(2 * N):
            await async_hub.jobs.enqueue("k", i)
        got = await async_hub.jobs.claim("k", count=10, partitions=[2])
        return {async_hub.jobs.partition_of(c.id) for c in got}, got

    parts, got = arun(go())
    assert parts == {2} and len(got) == 2


def test_export_and_import_keep_partitions(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path
) -> None:
    ids = [hub.jobs.enqueue("k", i, priority=i % 3, key=f"c{i % 5}").id for i in range(20)]
    delayed = hub.jobs.enqueue("k", "later", delay=3600)
    running = hub.jobs.claim("k", count=3)
    dead = hub.jobs.claim("k")[0]
    hub.jobs.fail(dead, "boom", retry=False)
    before = {j.id: j for j in hub.jobs.get_many([*ids, delayed.id])}
    path = tmp_path / "jobs.jsonl"
    hub.export(path)
    there = [c.id for c in hub.jobs.claim("k", count=100)]
    for n in (N, 1):
        with zerolag.open(
            store_url, root=tmp_path, namespace=unique_namespace(), partitions=n
        ) as other:
            try:
                other.import_(path)
                after = {j.id: j for j in other.jobs.get_many(list(before))}
                assert {i: (j.status, j.priority) for i, j in after.items()} == {
                    i: (j.status, j.priority) for i, j in before.items()
                }
                # The running claims survive the move.
                other.jobs.complete(running[0], "ok")
                assert other.jobs.get(running[0].id).status == "succeeded"
                claimed = [c.id for c in other.jobs.claim("k", count=100)]
                assert sorted(claimed) == sorted(there)
                if n == N:
                    # Same partitions, and the same order within each.
                    for p in range(N):
                        assert [i for i in claimed if hub.jobs.partition_of(i) == p] == [
                            i for i in there if hub.jobs.partition_of(i) == p
                        ]
                    assert all(
                        other.jobs.partition_of(i) == hub.jobs.partition_of(i) for i in before
                    )
            finally:
                other.clear()


@pytest.mark.parametrize("backend", [PARTITIONED])
def test_keys_spread_over_every_master(
    redis_cluster: Any, cluster_url: str, tmp_path: Path, backend: str
) -> None:
    ns = unique_namespace()
    # 32 partitions miss one of 3 masters with probability 3 * (2/3)^32 (below 1e-5).
    with zerolag.open(cluster_url, root=tmp_path, namespace=ns, partitions=32) as h:
        try:
            h.jobs.enqueue_many([{"kind": "k", "payload": i} for i in range(320)])
            per_master = [
                len({k for k in s.keys(f"zl:{{{ns}:jobs:*") if ":j:" in k})
                for s in redis_cluster.nodes
            ]
            assert sum(per_master) == 320
            assert all(c > 0 for c in per_master), per_master
            tags = {k.split("}", 1)[0] for k in data_keys(redis_cluster.nodes, ns)}
            assert len(tags) == 32
            # Every partition's jobs are claimed, whichever master holds them.
            done = 0
            while claims := h.jobs.claim("k", count=50):
                h.jobs._finish([(c.id, c.token, "done", None) for c in claims])
                done += len(claims)
            assert done == 320
        finally:
            h.clear()


@pytest.fixture
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
    ns, victim, down, up = split_namespace(c, "jobs", n)
    keys = {p: next(f"f{x}" for x in range(10_000) if fnv1a_64(f"f{x}") % n == p) for p in range(n)}
    replica = hold_failover(c, victim)
    stalled = STALLED

    with zerolag.open(c.url, root=tmp_path, namespace=ns, partitions=n) as h:
        jobs = {p: [h.jobs.enqueue("k", i, key=keys[p]).id for i in range(5)] for p in range(n)}
        victim.command("WAIT", 1, 5000)  # the replica has every job before the crash
        c.kill(victim)
        # The other masters' partitions are served ...
        got = retried(lambda: h.jobs.claim("k", count=100, partitions=up))
        assert sorted(x.id for x in got) == sorted(i for p in up for i in jobs[p])
        for x in got:
            retried(lambda x=x: h.jobs.complete(x))
        retried(lambda: h.jobs.enqueue("k", "during", key=keys[up[0]]))
        # ... while the dead master's partitions stall until its replica takes over.
        for _ in range(3):
            with pytest.raises(stalled):
                h.jobs.claim("k", count=100, partitions=down)
        replica.command("CLUSTER", "FAILOVER", "TAKEOVER")
        c.wait_failover(victim)
        back = retried(lambda: h.jobs.claim("k", count=100, partitions=down))
        assert sorted(x.id for x in back) == sorted(i for p in down for i in jobs[p])
        (late,) = retried(lambda: h.jobs.claim("k", count=100, partitions=up))
        assert late.payload == "during"


def test_a_single_server_takes_partitions_too_async(
    redis_url: str, tmp_path: Path, arun: Any
) -> None:
    """Partitions on one standalone server (nothing spreads, everything works): the async API,
    whose calls that span partitions run one partition after another there."""

    async def go() -> None:
        h = await zerolag.open_async(
            redis_url, root=tmp_path, namespace=unique_namespace(), partitions=N
        )
        try:
            jobs = await h.jobs.enqueue_many([{"kind": "k", "payload": i} for i in range(4 * N)])
            assert {h.jobs.partition_of(j.id) for j in jobs} == set(range(N))
            got = await h.jobs.get_many([j.id for j in jobs])
            assert [g.payload for g in got] == list(range(4 * N))
            claims = await h.jobs.claim("k", count=100)
            assert len(claims) == 4 * N
            acks = await h.jobs._finish([(c.id, c.token, "done", 1) for c in claims])
            assert acks == ["ok"] * (4 * N)
            assert await h.jobs.counts() == [{"kind": "k", "state": "succeeded", "count": 4 * N}]
            assert await h.jobs.purge() == 4 * N
        finally:
            await h.clear()
            await h.close()

    arun(go())
