"""Redis Cluster with replicas: a master SIGKILLed under load fails over to its replica and
every producer carries on by itself (the load and the counting are in failover_load.py).
With the ``wait_replicas`` option no acknowledged write is lost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from failover_load import KINDS, run
from servers import RedisCluster

DURABLE = "wait_replicas=1&wait_timeout_ms=500"


@pytest.fixture
def cluster_with_replicas(request: pytest.FixtureRequest) -> Iterator[RedisCluster]:
    # With wait_replicas=1 a master needs a replica left after one is promoted, or every write
    # on the new master is refused (TimeoutError) until another replica joins: two each.
    replicas = 2 if request.node.callspec.params.get("query") == DURABLE else 1
    cluster = RedisCluster(masters=3, replicas=replicas, node_timeout_ms=1000)
    yield cluster
    cluster.stop()


@pytest.mark.parametrize("query", ["", DURABLE], ids=["async-replication", "wait_replicas"])
def test_a_killed_master_fails_over_and_producers_carry_on(
    cluster_with_replicas: RedisCluster, query: str
) -> None:
    out = run(cluster_with_replicas, query=query)
    print(f"failover {out.failover_s:.2f} s; acknowledged {out.acked}; lost {out.lost}")
    for kind in KINDS:
        assert out.acked[kind] > 0, kind
        # The kill hit every producer (the namespace lives on the killed master) ...
        assert out.errors[kind] > 0, f"{kind} never noticed the kill"
        # ... each went on by itself on the promoted replica, without reopening the hub ...
        assert out.acked_after[kind] > 0, f"{kind} did not recover"
    # ... and what it saw meanwhile was a typed error saying the store was unreachable.
    assert out.error_types <= {"ConnectionError", "TimeoutError"}, out.error_types
    if query == DURABLE:
        # Each acknowledged write was on the replica before it was acknowledged.
        assert sum(out.lost.values()) == 0, out.lost
    else:
        # Replication is asynchronous: a write acknowledged by the master just before it died
        # may be missing on the replica. Over loopback that window is a few microseconds;
        # losing more than a handful would mean the clients wrote to the dead master's side.
        assert sum(out.lost.values()) <= 4, out.lost
