"""Kill a master of a 3-master, 3-replica Redis Cluster while producers write, and count.

Used by tests/test_failover.py; run it alone for the figures of docs/reliability.md:
``.venv/bin/python tests/failover_load.py [runs] [url-query]`` (for example ``3`` or
``3 'timeout=1'``). Producers write tasks, events, jobs and documents in their own threads and
keep the ids the store acknowledged; a master holding the namespace's keys is SIGKILLed, its
replica takes over, and every acknowledged write is looked up afterwards.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import zerolag  # noqa: E402
from servers import RedisCluster  # noqa: E402

KINDS = ("tasks", "events", "jobs", "docs")


@dataclass
class Outcome:
    failover_s: float = 0.0
    acked: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    # Seconds from the kill to the last error a producer saw (None: it saw none).
    recovered_s: dict[str, float | None] = field(default_factory=dict)
    # Writes acknowledged after the producer's last error (> 0: it carried on by itself).
    acked_after: dict[str, int] = field(default_factory=dict)
    error_types: set[str] = field(default_factory=set)


def _slot(tag: str) -> int:
    """Redis Cluster's hash slot of a hash tag (CRC16/XMODEM mod 16384)."""
    crc = 0
    for byte in tag.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


def _namespace_on_one_master(cluster: RedisCluster) -> tuple[str, int]:
    """A fresh namespace whose capabilities' slots are all served by one master (so killing
    that master hits every producer), and that master's port."""
    node = cluster.masters()[0]
    ranges = [(r[0], r[1], r[2][1]) for r in node.command("CLUSTER", "SLOTS")]

    def port(slot: int) -> int:
        return next(p for lo, hi, p in ranges if lo <= slot <= hi)

    base = f"failover{time.monotonic_ns()}"
    for n in range(10_000):
        ns = f"{base}-{n}"
        ports = {port(_slot(f"{ns}:{cap}")) for cap in KINDS}
        if len(ports) == 1:
            return ns, ports.pop()
    raise RuntimeError("no namespace found on one master")


def run(
    cluster: RedisCluster, *, query: str = "", before: float = 1.5, after: float = 3.0
) -> Outcome:
    """One failover under load on ``cluster`` (3 masters with a replica each)."""
    url = cluster.url + (f"?{query}" if query else "")
    ns, port = _namespace_on_one_master(cluster)
    hub = zerolag.open(url, namespace=ns)
    # Keep every event the producers publish (the default log keeps the newest 10,000, and a
    # trimmed event is not a lost one).
    hub.events.set_retention(max_len=10_000_000)
    stop = threading.Event()
    acked: dict[str, list[Any]] = {k: [] for k in KINDS}
    acked_at: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: dict[str, list[tuple[float, str]]] = {k: [] for k in KINDS}

    def put(i: int) -> tuple[str, int]:
        path = f"contexts/d{i % 50}.yaml"
        hub.docs.put(path, {"i": i})
        return path, i

    writers: dict[str, Callable[[int], Any]] = {
        "tasks": lambda i: hub.tasks.create(f"t{i}", intent="failover").id,
        "events": lambda i: hub.events.publish("failover:tick", {"i": i}).id,
        "jobs": lambda i: hub.jobs.enqueue("failover", {"i": i}).id,
        "docs": put,
    }

    def produce(kind: str) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                acked[kind].append(writers[kind](i))
                acked_at[kind].append(time.monotonic())
            except zerolag.ZerolagError as e:
                errors[kind].append((time.monotonic(), type(e).__name__))
                time.sleep(0.01)

    threads = [threading.Thread(target=produce, args=(k,), daemon=True) for k in KINDS]
    for t in threads:
        t.start()
    time.sleep(before)
    victim = next(n for n in cluster.nodes if n.port == port)
    assert victim.keys("*"), "the namespace's keys are on the master about to be killed"
    killed = time.monotonic()
    cluster.kill(victim)
    out = Outcome(failover_s=cluster.wait_failover(victim))
    time.sleep(after)
    stop.set()
    for t in threads:
        t.join(30)
    for k in KINDS:
        out.acked[k] = len(acked[k])
        out.errors[k] = len(errors[k])
        out.recovered_s[k] = errors[k][-1][0] - killed if errors[k] else None
        last_error = errors[k][-1][0] if errors[k] else killed
        out.acked_after[k] = sum(1 for t in acked_at[k] if t > last_error)
        out.error_types.update(name for _, name in errors[k])
    out.lost = _lost(hub, acked)
    hub.close()
    return out


def _lost(hub: zerolag.Hub, acked: dict[str, list[Any]]) -> dict[str, int]:
    lost = dict.fromkeys(KINDS, 0)
    for tid in acked["tasks"]:
        try:
            hub.tasks.get(tid)
        except zerolag.NotFoundError:
            lost["tasks"] += 1
    for jid in acked["jobs"]:
        try:
            hub.jobs.get(jid)
        except zerolag.NotFoundError:
            lost["jobs"] += 1
    ids: set[str] = set()
    cursor = "0"
    while page := hub.events.read(after=cursor, limit=1000):
        ids.update(e.id for e in page)
        cursor = page[-1].id
    lost["events"] = sum(1 for i in acked["events"] if i not in ids)
    newest: dict[str, int] = {}
    for path, i in acked["docs"]:
        newest[path] = max(i, newest.get(path, 0))
    lost["docs"] = sum(1 for p, i in newest.items() if hub.docs.get(p).value["i"] < i)
    return lost


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    query = sys.argv[2] if len(sys.argv) > 2 else ""
    for n in range(runs):
        # wait_replicas=1 needs a replica left after one is promoted: two per master then.
        replicas = 2 if "wait_replicas" in query else 1
        cluster = RedisCluster(masters=3, replicas=replicas, node_timeout_ms=1000)
        try:
            o = run(cluster, query=query)
        finally:
            cluster.stop()
        print(f"run {n + 1}: failover {o.failover_s:.2f} s")
        for k in KINDS:
            rec = o.recovered_s[k]
            print(
                f"  {k:7} acknowledged {o.acked[k]:6,}  lost {o.lost[k]}  errors {o.errors[k]:4}"
                f"  last error {'-' if rec is None else f'{rec:.2f} s'} after the kill"
            )
        print(f"  errors seen: {sorted(o.error_types) or 'none'}")


if __name__ == "__main__":
    main()
