"""Move a namespace's slots to another master of a 3-master Redis Cluster and back while
producers write, and count.

Used by tests/test_reshard.py; run it alone for the figures of docs/reliability.md:
``.venv/bin/python tests/reshard_load.py [runs] [--redis-cli]``. Producers write tasks
(create and update), events, jobs (enqueue, claim, complete), bus messages (share, consume,
ack), documents (put and delete) and kv keys of one namespace in their own threads and keep
what the store acknowledged. Meanwhile every slot of the namespace moves to another master,
one key per ``MIGRATE`` with a pause after each so the slot stays half moved for a while,
and then back (with ``--redis-cli``: ``redis-cli --cluster reshard`` moves every slot of the
namespace's master, one key per ``MIGRATE``, to another master instead). Afterwards every
acknowledged write is looked up.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import zerolag  # noqa: E402
from failover_load import _slot  # noqa: E402
from servers import RedisCluster, RedisServer  # noqa: E402

KINDS = ("tasks", "events", "jobs", "bus", "docs", "kv")
# Every hash tag of a namespace (the capabilities above, the namespace's own `meta`).
TAGS = (*KINDS, "meta")


@dataclass
class Outcome:
    moved_keys: int = 0
    move_s: float = 0.0
    # Writes the store acknowledged, by kind (a job's claim and completion count apart, as do
    # a message's delivery and ack).
    acked: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    # Exceptions a producer's calls raised, by kind ("Type: message").
    errors: dict[str, list[str]] = field(default_factory=dict)
    # The longest one call took (a call waits while its slot is half moved).
    longest_s: dict[str, float] = field(default_factory=dict)
    # Keys of a moved slot left on the master it moved from.
    left_behind: int = 0


def _namespace_on_one_master(cluster: RedisCluster) -> tuple[str, RedisServer]:
    """A fresh namespace whose slots are all served by one master, and that master."""
    served = {m.port: set(_served(m)) for m in cluster.masters()}
    base = f"reshard{time.monotonic_ns()}"
    for n in range(100_000):
        ns = f"{base}-{n}"
        slots = {_slot(f"{ns}:{tag}") for tag in TAGS}
        for port, mine in served.items():
            if slots <= mine:
                return ns, next(m for m in cluster.nodes if m.port == port)
    raise RuntimeError("no namespace found on one master")


class _Load:
    """The producers: one thread per kind, each calling the store until told to stop."""

    def __init__(self, hub: zerolag.Hub, interval: float) -> None:
        self.hub = hub
        self.interval = interval
        self.stop = threading.Event()
        self.errors: dict[str, list[str]] = {k: [] for k in KINDS}
        self.longest: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        self.acked: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.tasks: dict[str, float] = {}  # id -> last acknowledged progress
        self.task_ids: list[str] = []
        self.events: list[str] = []
        self.jobs_enqueued: list[str] = []
        self.jobs_done: list[str] = []
        self.shared: list[str] = []
        self.bus_acked: list[str] = []
        self.docs: dict[str, int] = {}  # path -> last acknowledged value
        self.docs_deleted: set[str] = set()
        self.kv: dict[str, int] = {}
        hub.events.set_retention(max_len=10_000_000)
        hub.bus.register("rs-a")
        hub.bus.register("rs-b")
        self.threads = [
            threading.Thread(target=self._run, args=(k, step), daemon=True)
            for k, step in {
                "tasks": self._tasks,
                "events": self._events,
                "jobs": self._jobs,
                "bus": self._bus,
                "docs": self._docs,
                "kv": self._kv,
            }.items()
        ]

    def _run(self, kind: str, step: Callable[[int], None]) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            t0 = time.monotonic()
            try:
                step(i)
            except Exception as e:  # every error counts: none may reach the caller
                self.errors[kind].append(f"{type(e).__name__}: {e}")
            self.longest[kind] = max(self.longest[kind], time.monotonic() - t0)
            time.sleep(self.interval)

    def _tasks(self, i: int) -> None:
        if i % 3 == 0 and self.task_ids:
            tid = self.task_ids[(i * 7) % len(self.task_ids)]
            self.hub.tasks.update(tid, progress=(i % 100) / 100, keywords=[f"k{i % 7}"])
            self.tasks[tid] = (i % 100) / 100
        else:
            t = self.hub.tasks.create(f"task {i}", intent="reshard", keywords=[f"k{i % 5}"])
            self.task_ids.append(t.id)
            self.tasks[t.id] = t.progress
        self.acked["tasks"] += 1

    def _events(self, i: int) -> None:
        self.events.append(self.hub.events.publish("reshard:tick", {"i": i}).id)
        self.acked["events"] += 1

    def _jobs(self, i: int) -> None:
        self.jobs_enqueued.append(self.hub.jobs.enqueue("reshard", {"i": i}).id)
        self.acked["jobs"] += 1
        if i % 2 == 0:
            for claim in self.hub.jobs.claim("reshard", count=2, worker="w", block_ms=0):
                self.hub.jobs.complete(claim, {"i": i})
                self.jobs_done.append(claim.id)
                self.acked["jobs"] += 2  # the claim and the completion

    def _bus(self, i: int) -> None:
        self.shared.append(self.hub.bus.share("rs-a", "rs-b", {"i": i}).id)
        self.acked["bus"] += 1
        if i % 2 == 0:
            for d in self.hub.bus.consume("rs-b", group="g", consumer="c", count=2):
                self.hub.bus.ack("rs-b", d, group="g", consumer="c")
                self.bus_acked.append(d.id)
                self.acked["bus"] += 2  # the delivery and the ack

    def _docs(self, i: int) -> None:
        path = f"contexts/d{i % 40}.yaml"
        self.hub.docs.put(path, {"i": i})
        self.docs[path] = i
        self.acked["docs"] += 1
        if i % 5 == 0:
            gone = f"contexts/gone{i}.yaml"
            self.hub.docs.put(gone, {"i": i})
            self.hub.docs.delete(gone)
            self.docs_deleted.add(gone)
            self.acked["docs"] += 2

    def _kv(self, i: int) -> None:
        key = f"k{i % 60}"
        self.hub.kv.set(key, i)
        self.kv[key] = i
        self.acked["kv"] += 1

    def lost(self) -> dict[str, int]:
        """Acknowledged writes that are not there (or not as acknowledged)."""
        hub = self.hub
        lost = dict.fromkeys(KINDS, 0)
        tasks = hub.tasks.get_many(list(self.tasks))
        lost["tasks"] = sum(
            1
            for t, want in zip(tasks, self.tasks.values(), strict=True)
            if t is None or t.progress != want
        )
        ids: set[str] = set()
        cursor = "0"
        while page := hub.events.read(after=cursor, limit=1000):
            ids.update(e.id for e in page)
            cursor = page[-1].id
        lost["events"] = sum(1 for i in self.events if i not in ids)
        jobs = hub.jobs.get_many(self.jobs_enqueued)
        lost["jobs"] = sum(1 for j in jobs if j is None)
        done = hub.jobs.get_many(self.jobs_done)
        lost["jobs"] += sum(1 for j in done if j is None or j.status != "succeeded")
        lost["bus"] = sum(1 for m in self.bus_acked if not hub.bus.is_acked(m))
        pending = {m.id for m in hub.bus.pending("rs-b", count=10_000)}
        acked = set(self.bus_acked)
        lost["bus"] += sum(1 for m in self.shared if m not in acked and m not in pending)
        for path, i in self.docs.items():
            if hub.docs.get(path).value["i"] != i:
                lost["docs"] += 1
        listed = set(hub.docs.list("contexts/"))
        lost["docs"] += sum(1 for p in self.docs_deleted if p in listed)
        lost["kv"] = sum(1 for k, v in self.kv.items() if hub.kv.get(k) != v)
        return lost


def run(
    cluster: RedisCluster,
    *,
    pause: float = 0.002,
    interval: float = 0.02,
    before: float = 1.0,
    after: float = 1.0,
    redis_cli: bool = False,
) -> Outcome:
    """Moves the slots of a fresh namespace away from its master and back under load: each
    producer calls the store every ``interval`` seconds (which keeps the number of keys, and
    so the time a slot takes to move, small); ``pause`` seconds after each key moved."""
    ns, home = _namespace_on_one_master(cluster)
    away = next(m for m in cluster.masters() if m is not home)
    hub = zerolag.open(cluster.url, namespace=ns)
    load = _Load(hub, interval)
    for t in load.threads:
        t.start()
    time.sleep(before)
    out = Outcome()
    slots = sorted({_slot(f"{ns}:{tag}") for tag in TAGS})
    t0 = time.monotonic()
    if redis_cli:
        cluster.reshard(len(_served(home)), home, away, pipeline=1)
        out.left_behind += sum(home.command("CLUSTER", "COUNTKEYSINSLOT", s) for s in slots)
        out.moved_keys = sum(away.command("CLUSTER", "COUNTKEYSINSLOT", s) for s in slots)
    else:
        for there, back in ((away, home), (home, away)):
            for s in slots:
                out.moved_keys += cluster.move_slot(s, there, pause=pause)
                out.left_behind += back.command("CLUSTER", "COUNTKEYSINSLOT", s)
            assert all(cluster.owner(s) is there for s in slots)
    out.move_s = time.monotonic() - t0
    time.sleep(after)
    load.stop.set()
    for t in load.threads:
        t.join(60)
    out.acked = load.acked
    out.errors = load.errors
    out.longest_s = load.longest
    out.lost = load.lost()
    hub.close()
    return out


def _served(node: RedisServer) -> list[int]:
    """Every slot ``node`` serves."""
    out: list[int] = []
    for lo, hi, master, *_ in node.command("CLUSTER", "SLOTS"):
        if int(master[1]) == node.port:
            out.extend(range(int(lo), int(hi) + 1))
    return out


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    runs = int(args[0]) if args else 1
    redis_cli = "--redis-cli" in sys.argv
    for n in range(runs):
        cluster = RedisCluster(masters=3)
        try:
            o = run(cluster, redis_cli=redis_cli, before=2.0, after=2.0)
        finally:
            cluster.stop()
        print(
            f"run {n + 1}: slots moved in {o.move_s:.2f} s ({o.moved_keys} keys moved), "
            f"{o.left_behind} keys left behind"
        )
        for k in KINDS:
            print(
                f"  {k:7} acknowledged {o.acked[k]:6,}  lost {o.lost[k]}  "
                f"errors {len(o.errors[k])}  longest call {o.longest_s[k]:.2f} s"
            )
            for e in o.errors[k][:3]:
                print(f"    {e}")


if __name__ == "__main__":
    main()
