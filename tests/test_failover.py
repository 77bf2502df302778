"""Redis Cluster with replicas: a master SIGKILLed under load fails over to its replica and
every producer carries on by itself (the load and the counting are in failover_load.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from failover_load import KINDS, run
from servers import RedisCluster


@pytest.fixture
def cluster_with_replicas() -> Iterator[RedisCluster]:
    cluster = RedisCluster(masters=3, replicas=1, node_timeout_ms=1000)
    yield cluster
    cluster.stop()


def test_a_killed_master_fails_over_and_producers_carry_on(
    cluster_with_replicas: RedisCluster,
) -> None:
    out = run(cluster_with_replicas)
    print(f"failover {out.failover_s:.2f} s; acknowledged {out.acked}; lost {out.lost}")
    for kind in KINDS:
        assert out.acked[kind] > 0, kind
        # The kill hit every producer (the namespace lives on the killed master) ...
        assert out.errors[kind] > 0, f"{kind} never noticed the kill"
        # ... each went on by itself on the promoted replica, without reopening the hub ...
        assert out.acked_after[kind] > 0, f"{kind} did not recover"
    # ... and what it saw meanwhile was a typed error saying the store was unreachable.
    assert out.error_types <= {"ConnectionError", "TimeoutError"}, out.error_types
    # Replication is asynchronous: a write acknowledged by the master just before it died may
    # be missing on the replica. Over loopback that window is a few microseconds; losing more
    # than a handful of writes would mean the clients wrote to the dead master's side.
    assert sum(out.lost.values()) <= 4, out.lost
