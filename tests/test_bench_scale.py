"""The `scale` suite's harness counts what it says it counts (bench/scale_cluster.py): slots
as the cluster computes them, partitions placed on the masters that serve them, commands
run inside a script counted in `INFO commandstats` and told apart by MONITOR. Counts only,
never timings; the suite's own quick run is tests/test_bench_smoke.py's."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import RedisCluster, RedisServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from scale_cluster import (  # noqa: E402
    Cluster,
    Monitor,
    fnv1a,
    key_slot,
    partition_tag,
    snapshot,
)


@pytest.fixture
def server() -> Iterator[RedisServer]:
    s = RedisServer()
    yield s
    s.stop()


def test_key_slot_is_the_clusters(redis_cluster: RedisCluster) -> None:
    node = redis_cluster.nodes[0]
    keys = ["x", "zl:{app:jobs}:q", "zl:{app:jobs:5}:q", "{}a", "a{b}c{d}", "{a", "é{ü:1}"]
    keys += [partition_tag(f"ns{i}", "bus", i % 7, 7) + "k" for i in range(50)]
    for key in keys:
        assert key_slot(key) == node.command("CLUSTER", "KEYSLOT", key), key


def test_placement_names_the_master_serving_each_partition(redis_cluster: RedisCluster) -> None:
    c = Cluster(rc=redis_cluster)
    ns = c.balanced_namespace("t-", ("jobs", "bus"), 6)
    for cap in ("jobs", "bus"):
        placed = c.placement(ns, cap, 6)
        assert sorted(p for ps in placed.values() for p in ps) == list(range(6))
        assert [len(ps) for ps in placed.values()] == [2, 2, 2]
        for port, ps in placed.items():
            for p in ps:
                slot = key_slot(partition_tag(ns, cap, p, 6) + "x")
                assert redis_cluster.owner(slot).port == port
    c.stop()  # not its cluster: left running
    assert all(n.command("PING") == "PONG" for n in redis_cluster.nodes)


def test_partition_tags_and_routing_match_the_engine() -> None:
    # src/engine/partition.rs: one partition is today's tag; of_key is FNV-1a 64 modulo n.
    assert partition_tag("ns", "jobs", 0, 1) == "zl:{ns:jobs}:"
    assert partition_tag("ns", "jobs", 3, 4) == "zl:{ns:jobs:3}:"
    assert fnv1a("a", 7) == 0xAF63DC4C8601EC8C % 7
    assert fnv1a("", 5) == 0xCBF29CE484222325 % 5
    assert fnv1a("anything", 1) == 0
    seen = Counter(fnv1a(f"job-{i}", 4) for i in range(4000))
    assert all(800 < v < 1200 for v in seen.values()), seen


def test_commands_inside_a_script_are_counted_and_told_apart(server: RedisServer) -> None:
    # Redis 7 counts a script's redis.call()s in commandstats beside the EVAL; MONITOR marks
    # them "[0 lua]".
    mon = Monitor(server)
    before = snapshot(server)
    script = (
        "redis.call('SET', KEYS[1], '1'); redis.call('INCR', KEYS[1]); "
        "return redis.call('GET', KEYS[1])"
    )
    for _ in range(3):
        assert server.command("EVAL", script, 1, "k") == "2"
    assert server.command("GET", "k") == "2"
    after = snapshot(server)
    seen = mon.stop()
    delta = Cluster.delta({1: before}, {1: after}).calls[1]
    assert delta == Counter({"eval": 3, "set": 3, "incr": 3, "get": 4})
    assert seen.requests == Counter({"eval": 3, "get": 1})
    assert seen.in_scripts == Counter({"set": 3, "incr": 3, "get": 3})
