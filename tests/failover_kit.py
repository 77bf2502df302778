"""What the partitioned capabilities' failover tests share: a namespace whose partitions sit on
more than one master, a failover held back until the test asks for it, and calls retried
through the window in which a master is down."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import zerolag
from conftest import unique_namespace
from servers import RedisCluster

# What a call to a partition whose master is down raises.
STALLED = (zerolag.ConnectionError, zerolag.TimeoutError, zerolag.BackendError)


def split_namespace(c: RedisCluster, tag: str, n: int) -> tuple[str, Any, list[int], list[int]]:
    """A fresh namespace whose capability ``tag`` has its ``n`` partitions on more than one
    master: (namespace, the master of partition 0, the partitions on it, the others)."""

    def owners(ns: str) -> dict[int, Any]:
        slot = [c.nodes[0].command("CLUSTER", "KEYSLOT", f"{{{ns}:{tag}:{p}}}") for p in range(n)]
        return {p: c.owner(int(s)) for p, s in enumerate(slot)}

    ns, owner = next(
        (ns, o)
        for ns, o in ((ns, owners(ns)) for ns in (unique_namespace() for _ in range(100)))
        if any(o[p] is not o[0] for p in range(n))
    )
    victim = owner[0]
    down = [p for p in range(n) if owner[p] is victim]
    up = [p for p in range(n) if owner[p] is not victim]
    return ns, victim, down, up


def hold_failover(c: RedisCluster, victim: Any) -> Any:
    """Lets the cluster serve the slots it still covers while one master is down (Redis stops
    every slot otherwise; docs/scaling.md), and keeps ``victim``'s replica from taking over
    until the test runs ``CLUSTER FAILOVER TAKEOVER`` on it, so the window after the crash
    lasts as long as the test needs. Returns that replica."""
    vid = victim.command("CLUSTER", "MYID")
    replica_ids = {r[0] for r in c._nodes_table() if r[3] == vid}
    (replica,) = [x for x in c.nodes if x.command("CLUSTER", "MYID") in replica_ids]
    for x in c.nodes:
        x.command("CONFIG", "SET", "cluster-require-full-coverage", "no")
    replica.command("CONFIG", "SET", "cluster-replica-no-failover", "yes")
    return replica


def retried(fn: Callable[[], Any], seconds: float = 30) -> Any:
    """``fn()``, again after a store error (as a worker retries), for up to ``seconds``."""
    end = time.monotonic() + seconds
    while True:
        try:
            return fn()
        except STALLED:
            assert time.monotonic() < end
            time.sleep(0.1)
