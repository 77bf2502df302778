"""The `scale` suite: one namespace on a 3-master Redis Cluster on loopback, with 1 partition
and with 6 (docs/scaling.md, "Capacity model"). See bench/README.md.

- Server commands per job (enqueue + claim + complete), per bus message (share + consume +
  ack) and per event (publish + read by one subscriber), counted on every master with
  `INFO commandstats` (the sum of the `calls` deltas; Redis 7 counts a script's own
  `redis.call`s there too, beside the EVALSHA), and split by a MONITOR on every master into
  the requests clients sent and the commands scripts ran inside.
- Jobs and bus throughput with partitions=1 and partitions=6, several client processes at
  once, and each master's share of the commands served: with 6 partitions the figure that
  must hold is the spread (every master within ±20 % of an even share); on a 2-core machine
  the absolute throughput cannot grow with masters.
- One master's ceiling: the server CPU each job and message costs (`INFO cpu`), so jobs/s
  and messages/s at one full core, beside the throughput measured with partitions=1; and the
  model's prediction for 3 masters, computed from it (stated as such, not measured).
"""

from __future__ import annotations

import sys
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import zerolag  # noqa: E402
from scale_cluster import SCRIPT_CALLS, Cluster, Delta, Monitor, ScriptSeen, fnv1a  # noqa: E402
from scale_load import Plan, Timed  # noqa: E402
from scale_load import run as run_load  # noqa: E402

# For bench/run.py (see bench/README.md): this suite starts its own cluster, so it needs no
# Redis URL from run.py; it runs last (it is the slowest to set up).
NEEDS_REDIS = False
ORDER = 200

MASTERS = 3
SPREAD = 6  # the partitioned case: two partitions per master
CAPS = ("jobs", "bus", "events")
TOLERANCE = 0.20  # every master within ±20 % of an even share
Row = dict[str, Any]


def spread_names(prefix: str, n: int, per: int) -> list[str]:
    """``per`` names ``<prefix><i>`` for each of the ``n`` partitions (by the routing hash),
    so inboxes and channels are spread evenly, ordered so that consecutive names differ in
    partition."""
    by_p: dict[int, list[str]] = {p: [] for p in range(n)}
    i = 0
    while any(len(v) < per for v in by_p.values()):
        name = f"{prefix}{i}"
        p = fnv1a(name, n)
        if len(by_p[p]) < per:
            by_p[p].append(name)
        i += 1
    return [by_p[p][k] for k in range(per) for p in range(n)]


AGENTS = spread_names("agent", SPREAD, 2)
CHANNELS = spread_names("ch", SPREAD, 2)


# --------------------------------------------------------------------------------------------
# Counting: what one workload costs the servers
# --------------------------------------------------------------------------------------------


class Counted:
    """Server commands of one workload of ``units`` jobs, messages or events."""

    def __init__(
        self,
        delta: Delta,
        requests: Counter[str],
        in_scripts: Counter[str],
        scripts: dict[str, ScriptSeen],
        units: int,
    ):
        self.delta = delta
        self.total = delta.total()
        self.requests = requests
        self.in_scripts = in_scripts
        self.scripts = scripts
        self.units = units

    def script_table(self) -> list[dict[str, Any]]:
        """Each script called: calls per unit, what it ran inside per call, its first keys."""
        out = []
        for sha, sc in sorted(self.scripts.items(), key=lambda kv: -kv[1].calls):
            out.append(
                {
                    "sha": sha[:12],
                    "keys": sorted(sc.first_keys),
                    "calls_per_unit": round(sc.calls / self.units, 3),
                    "inside_per_call": {
                        cmd: round(v / sc.calls, 2) for cmd, v in sc.inside.most_common()
                    },
                }
            )
        return out

    def per_unit(self, c: Counter[str] | None = None) -> float:
        return sum((self.total if c is None else c).values()) / self.units

    def scripts_per_unit(self) -> float:
        return sum(v for k, v in self.total.items() if k in SCRIPT_CALLS) / self.units

    def top(self, c: Counter[str], k: int = 8) -> str:
        return ", ".join(f"{cmd} {v / self.units:.2f}" for cmd, v in c.most_common(k))

    def detail(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "commands_per_unit": round(self.per_unit(), 3),
            "requests_per_unit": round(self.per_unit(self.requests), 3),
            "in_scripts_per_unit": round(self.per_unit(self.in_scripts), 3),
            "commandstats": dict(self.total.most_common()),
            "requests": dict(self.requests.most_common()),
            "in_scripts": dict(self.in_scripts.most_common()),
            "master_share": {str(p): round(s, 4) for p, s in self.delta.shares().items()},
            "scripts": self.script_table(),
        }


def count(cluster: Cluster, work: Callable[[], int]) -> Counted:
    """Runs ``work`` (returns how many units it moved) under commandstats and MONITOR."""
    monitors = [Monitor(m) for m in cluster.masters]
    try:
        before = cluster.snapshot()
        units = work()
        after = cluster.snapshot()
    finally:
        seen = [m.stop() for m in monitors]
    requests: Counter[str] = Counter()
    in_scripts: Counter[str] = Counter()
    scripts: dict[str, ScriptSeen] = {}
    for s in seen:
        requests.update(s.requests)
        in_scripts.update(s.in_scripts)
        for sha, sc in s.scripts.items():
            into = scripts.setdefault(sha, ScriptSeen())
            into.calls += sc.calls
            into.inside.update(sc.inside)
            into.first_keys |= sc.first_keys
    return Counted(Cluster.delta(before, after), requests, in_scripts, scripts, units)


def jobs_one_by_one(hub: zerolag.Hub, n: int) -> int:
    for i in range(n):
        hub.jobs.enqueue("noop", i)
    done = empty = 0
    while done < n:
        claims = hub.jobs.claim("noop", count=1, block_ms=0)
        if not claims:
            empty += 1
            if empty > 100:
                raise RuntimeError(f"claim found nothing with {n - done} jobs ready")
            continue
        for c in claims:
            hub.jobs.complete(c)
        done += len(claims)
    return n


def noop(ctx: Any) -> None:
    return None


def jobs_worker(hub: zerolag.Hub, n: int) -> int:
    for s in range(0, n, 100):
        hub.jobs.enqueue_many([{"kind": "noop", "payload": i} for i in range(s, min(n, s + 100))])
    stats = hub.jobs.worker({"noop": noop}, concurrency=10).run(burst=True)
    if stats.succeeded != n:
        raise RuntimeError(f"the worker ran {stats.succeeded} of {n} jobs")
    return n


def bus_one_by_one(hub: zerolag.Hub, n: int) -> int:
    for i in range(n):
        hub.bus.share("p", AGENTS[i % len(AGENTS)], {"i": i})
    got = 0
    for agent in AGENTS:
        while ds := hub.bus.consume(agent, group="g", consumer="c", count=1):
            for d in ds:
                hub.bus.ack(agent, d, group="g", consumer="c")
            got += len(ds)
    if got != n:
        raise RuntimeError(f"consumed {got} of {n} messages")
    return n


def bus_batched(hub: zerolag.Hub, n: int) -> int:
    sent = k = 0
    while sent < n:
        m = min(100, n - sent)
        target = AGENTS[k % len(AGENTS)]
        hub.bus.share_many(
            [{"source": "p", "target": target, "payload": {"i": sent + j}} for j in range(m)]
        )
        sent += m
        k += 1
    got = 0
    for agent in AGENTS:
        while ds := hub.bus.consume(agent, group="g", consumer="c", count=100):
            hub.bus.ack_many(agent, ds, group="g", consumer="c")
            got += len(ds)
    if got != n:
        raise RuntimeError(f"consumed {got} of {n} messages")
    return n


def events_each(hub: zerolag.Hub, n: int, *, one_channel: bool) -> int:
    """Publish, and a subscriber that keeps up reads after each event: every channel, or
    the one channel published on."""
    after = hub.events.last_id()
    got = 0
    for i in range(n):
        ch = CHANNELS[0] if one_channel else CHANNELS[i % len(CHANNELS)]
        hub.events.publish(ch, {"i": i})
        evs = hub.events.read(*([ch] if one_channel else []), after=after, limit=100)
        if evs:
            after = evs[-1].id
        got += len(evs)
    return _drain(hub, [CHANNELS[0]] if one_channel else [], after, got, n)


def _drain(hub: zerolag.Hub, channels: list[str], after: str, got: int, n: int) -> int:
    """Reads on until all ``n`` events came (a merged read hands an event out once every
    partition's watermark passed it, so the last ones may come a read later)."""
    for _ in range(1000):
        if got >= n:
            break
        evs = hub.events.read(*channels, after=after, limit=100)
        if evs:
            after = evs[-1].id
        got += len(evs)
    if got != n:
        raise RuntimeError(f"the subscriber read {got} of {n} events")
    return n


def events_paged(hub: zerolag.Hub, n: int) -> int:
    """Publish n, then one subscriber reads them all (every channel) in pages of 100."""
    after = hub.events.last_id()
    for i in range(n):
        hub.events.publish(CHANNELS[i % len(CHANNELS)], {"i": i})
    return _drain(hub, [], after, 0, n)


WORKLOADS: list[tuple[str, str, str, Callable[[zerolag.Hub, int], int]]] = [
    # (capability, unit, what one unit is, workload)
    ("jobs", "job", "enqueue, claim(count=1), complete: one call each", jobs_one_by_one),
    ("jobs", "job", "enqueue_many of 100, a worker (concurrency 10) in burst mode", jobs_worker),
    ("bus", "message", "share, consume(count=1), ack: one call each", bus_one_by_one),
    ("bus", "message", "share_many of 100, consume(count=100), ack_many", bus_batched),
    (
        "events",
        "event",
        "publish, and a subscriber to every channel reading after each event",
        lambda h, n: events_each(h, n, one_channel=False),
    ),
    (
        "events",
        "event",
        "publish, and a subscriber to that one channel reading after each event",
        lambda h, n: events_each(h, n, one_channel=True),
    ),
    ("events", "event", "publish n, one subscriber reads all in pages of 100", events_paged),
]


def open_hub(cluster: Cluster, ns: str, partitions: int) -> zerolag.Hub:
    hub = zerolag.open(cluster.url, namespace=ns, partitions=partitions)
    for a in AGENTS:
        hub.bus.register(a)
    return hub


def op_rows(
    cluster: Cluster, namespaces: dict[int, str], n: int, log: Callable[[str], None]
) -> list[Row]:
    counted: dict[tuple[int, int], Counted] = {}
    for parts, ns in namespaces.items():
        hub = open_hub(cluster, ns, parts)
        try:
            for i, (_cap, _unit, _what, work) in enumerate(WORKLOADS):
                work(hub, min(n, 50))  # warm up: scripts loaded on every master, connections
                hub.clear()
                for a in AGENTS:
                    hub.bus.register(a)
                counted[(i, parts)] = c = count(cluster, lambda w=work, h=hub: w(h, n))
                hub.clear()
                for a in AGENTS:
                    hub.bus.register(a)
                log(
                    f"  partitions={parts} {WORKLOADS[i][0]} ({WORKLOADS[i][2]}): "
                    f"{c.per_unit():.2f} commands/{WORKLOADS[i][1]}, "
                    f"{c.per_unit(c.requests):.2f} requests"
                )
        finally:
            hub.clear()
            hub.close()
    rows = []
    for i, (cap, unit, what, _work) in enumerate(WORKLOADS):
        one, many = counted[(i, 1)], counted[(i, SPREAD)]
        rows.append(
            {
                "name": f"{cap}: server commands per {unit} ({what}), partitions={SPREAD} vs 1",
                "ours": many.per_unit(),
                "baseline": one.per_unit(),
                "unit": f"commands/{unit}",
                "ratio": one.per_unit() / many.per_unit(),
                "note": (
                    f"INFO commandstats calls over the 3 masters, {n:,} {unit}s; requests "
                    f"(MONITOR) {many.per_unit(many.requests):.2f} vs "
                    f"{one.per_unit(one.requests):.2f}, of them scripts "
                    f"{many.scripts_per_unit():.2f} vs {one.scripts_per_unit():.2f}; inside "
                    f"scripts {many.per_unit(many.in_scripts):.2f} vs "
                    f"{one.per_unit(one.in_scripts):.2f}. partitions={SPREAD} requests: "
                    f"{many.top(many.requests, 5)}; inside scripts: "
                    f"{many.top(many.in_scripts)}; master shares "
                    + " / ".join(f"{s:.0%}" for s in many.delta.shares().values())
                ),
                "detail": {"partitions_1": one.detail(), f"partitions_{SPREAD}": many.detail()},
            }
        )
    return rows


# --------------------------------------------------------------------------------------------
# Throughput and spread
# --------------------------------------------------------------------------------------------


def throughput(
    cluster: Cluster, kind: str, ns: str, parts: int, total: int, clients: int
) -> tuple[Timed, Delta]:
    hub = open_hub(cluster, ns, parts)
    try:
        plan = Plan(cluster.url, ns, clients, total // clients, tuple(AGENTS))
        timed, before, after = run_load(kind, plan, cluster.snapshot)
        want = plan.per_client * clients
        if timed.done != want:
            raise RuntimeError(f"{kind}: {timed.done} of {want} done")
        return timed, Cluster.delta(before, after)
    finally:
        hub.clear()
        hub.close()


def shares_text(d: Delta) -> str:
    return " / ".join(f"{s:.1%}" for s in d.shares().values())


def cpu_text(d: Delta) -> str:
    return " / ".join(f"{c:.2f}" for c in d.cpu.values())


def scale_rows(
    cluster: Cluster,
    namespaces: dict[int, str],
    total: int,
    clients: int,
    reps: int,
    log: Callable[[str], None],
) -> list[Row]:
    rows: list[Row] = []
    for kind, unit in (("jobs", "job"), ("bus", "message")):
        best: dict[int, tuple[Timed, Delta]] = {}
        for rep in range(reps):
            order = (1, SPREAD) if rep % 2 == 0 else (SPREAD, 1)  # alternate against drift
            for parts in order:
                t, d = throughput(cluster, kind, namespaces[parts], parts, total, clients)
                log(
                    f"  {kind} partitions={parts}: {t.done / t.total_s:,.0f} {unit}s/s, "
                    f"master shares {shares_text(d)}, server CPU s {cpu_text(d)}"
                )
                if parts not in best or t.total_s < best[parts][0].total_s:
                    best[parts] = (t, d)
        (t1, d1), (t6, d6) = best[1], best[SPREAD]
        r1, r6 = t1.done / t1.total_s, t6.done / t6.total_s
        what = (
            "enqueue_many of 100 + a burst worker (concurrency 10) in each client"
            if kind == "jobs"
            else "share_many of 100, consume(count=100) + ack_many over 12 inboxes"
        )
        rows.append(
            {
                "name": f"{kind}: {t6.done:,} {unit}s, {clients} client processes, "
                f"3-master cluster, partitions={SPREAD} vs 1",
                "ours": r6,
                "baseline": r1,
                "unit": f"{unit}s/s",
                "ratio": r6 / r1,
                "note": (
                    f"{what}; best of {reps}; the clients share the machine's "
                    f"{_cpus()} cores with the 3 servers, so the absolute figure cannot grow "
                    f"with masters here (docs/scaling.md: the capacity model). Write phase "
                    f"{t6.done / t6.write_s:,.0f} vs {t1.done / t1.write_s:,.0f} {unit}s/s"
                ),
            }
        )
        shares = d6.shares()
        busiest, least = max(shares.values()), min(shares.values())
        even = 1 / len(shares)
        ok = busiest <= even * (1 + TOLERANCE) and least >= even * (1 - TOLERANCE)
        rows.append(
            {
                "name": f"{kind}: spread of server commands over 3 masters, partitions="
                f"{SPREAD} (even share / busiest master's share)",
                "ours": busiest * 100,
                "baseline": even * 100,
                "unit": "% of commands",
                "ratio": even / busiest,
                "target": 1 / (1 + TOLERANCE),
                "note": (
                    f"{'within' if ok else 'NOT within'} ±{TOLERANCE:.0%} of an even share: "
                    f"masters served {shares_text(d6)} of the commands (server CPU s "
                    f"{cpu_text(d6)}); with partitions=1: {shares_text(d1)}"
                ),
                "detail": {
                    "partitions_1": {str(p): round(s, 4) for p, s in d1.shares().items()},
                    f"partitions_{SPREAD}": {str(p): round(s, 4) for p, s in shares.items()},
                    "within_tolerance": ok,
                },
            }
        )
        busy_port = max(d1.cpu, key=lambda p: d1.cpu[p])
        server_cpu = d1.cpu[busy_port] / t1.done
        client_cpu = t1.client_cpu_s / t1.done
        # What the masters that hold nothing of the namespace spent meanwhile: idle work,
        # gossip, and every PUBLISH (Redis Cluster forwards each one to every node).
        idle_cpu = [c / t1.done for p, c in d1.cpu.items() if p != busy_port]
        rows.append(
            {
                "name": f"{kind}: one master's ceiling at one full core (partitions=1), "
                f"from its CPU per {unit}",
                "ours": 1 / server_cpu,
                "unit": f"{unit}s/s",
                "note": (
                    f"the master holding the namespace used {server_cpu * 1e6:.1f} µs of CPU "
                    f"per {unit} (INFO cpu, user+sys); measured {r1:,.0f} {unit}s/s with "
                    f"{clients} client processes that used {client_cpu * 1e6:.1f} µs of CPU "
                    f"per {unit}"
                    + (
                        ": the clients, sharing the cores with the servers, are the limit here"
                        if r1 < 0.8 / server_cpu
                        else ""
                    )
                    + "; the other masters used "
                    + " / ".join(f"{c * 1e6:.1f}" for c in idle_cpu)
                    + f" µs per {unit} (their idle work, cluster gossip, and every PUBLISH, "
                    "which the cluster bus forwards to every node)"
                ),
                "detail": {
                    "server_cpu_us": round(server_cpu * 1e6, 2),
                    "client_cpu_us": round(client_cpu * 1e6, 2),
                    "other_masters_cpu_us": [round(c * 1e6, 2) for c in idle_cpu],
                    "measured_per_s": round(r1, 1),
                    "clients": clients,
                },
            }
        )
        # The model (docs/scaling.md): min(P, N) x one master's ceiling x e, where e is the
        # server CPU per unit with one partition over that with P (all masters summed).
        s1 = sum(d1.cpu.values()) / t1.done
        s6 = sum(d6.cpu.values()) / t6.done
        e = s1 / s6
        predicted = min(SPREAD, MASTERS) / server_cpu * e
        rows.append(
            {
                "name": f"{kind}: predicted for 3 masters, partitions={SPREAD}: "
                f"min(P, N) x ceiling x e (the model, not measured)",
                "ours": predicted,
                "unit": f"{unit}s/s",
                "note": (
                    f"e = server CPU per {unit} with 1 partition / with {SPREAD} (all masters): "
                    f"{s1 * 1e6:.1f} / {s6 * 1e6:.1f} µs = {e:.2f}; holds while the clients "
                    f"keep up ({client_cpu * 1e6:.1f} µs of client CPU per {unit}: "
                    f"{1 / client_cpu:,.0f} {unit}s/s per client core)"
                ),
                "detail": {
                    "server_cpu_us_p1": round(s1 * 1e6, 2),
                    f"server_cpu_us_p{SPREAD}": round(s6 * 1e6, 2),
                    "efficiency": round(e, 3),
                },
            }
        )
    return rows


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def run(url: str | None, *, quick: bool = False, log: Callable[[str], None] = print) -> list[Row]:
    del url  # the suite starts its own cluster
    n_ops = 100 if quick else 2_000
    total = 1_000 if quick else 20_000
    clients = 2 if quick else 4
    reps = 1 if quick else 2
    tag = uuid.uuid4().hex[:6]
    with Cluster(MASTERS) as cluster:
        log(f"  cluster {cluster.url}")
        ops_ns = {1: f"sc1o{tag}", SPREAD: cluster.balanced_namespace(f"sc6o{tag}-", CAPS, SPREAD)}
        load_ns = {1: f"sc1l{tag}", SPREAD: cluster.balanced_namespace(f"sc6l{tag}-", CAPS, SPREAD)}
        for parts, ns in ops_ns.items():
            log(
                f"  partitions={parts}: namespace {ns}, jobs partitions per master "
                + str(list(cluster.placement(ns, "jobs", parts).values()))
            )
        rows = op_rows(cluster, ops_ns, n_ops, log)
        rows += scale_rows(cluster, load_ns, total, clients, reps, log)
    return rows
