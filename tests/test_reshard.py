"""Redis Cluster resharding under load: every slot of a namespace moves to another master and
back (``CLUSTER SETSLOT … MIGRATING/IMPORTING`` and ``MIGRATE`` one key at a time, pausing
between keys so each slot stays half moved for a while) while producers write tasks, events,
jobs, bus messages, documents and kv keys; no call raises, every acknowledged write is there
afterwards, and every migration finishes (the load and the counting are in reshard_load.py).
Resharding exists only on a cluster: this suite runs on a 3-master cluster of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reshard_load import KINDS, run
from servers import RedisCluster


@pytest.fixture
def cluster() -> Iterator[RedisCluster]:
    c = RedisCluster(masters=3)
    yield c
    c.stop()


def test_slots_move_under_load_and_no_error_reaches_the_caller(cluster: RedisCluster) -> None:
    # A MIGRATE that met a key the target holds already (BUSYKEY) raises inside run().
    out = run(cluster, interval=0.05, before=0.5, after=0.5)
    print(f"moved {out.moved_keys} keys; acknowledged {out.acked}; lost {out.lost}")
    assert out.moved_keys > 0
    for kind in KINDS:
        assert out.acked[kind] > 0, kind
        assert out.errors[kind] == [], (kind, out.errors[kind][:5])
        assert out.lost[kind] == 0, (kind, out.lost)
    # Nothing of a moved slot stayed on the master it left.
    assert out.left_behind == 0
