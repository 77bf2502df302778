"""The `scale` suite's load: client processes that push jobs or bus messages through one
namespace of the cluster at once (bench/bench_scale.py starts them; see bench/README.md).

Every client opens its own hub, and all of them move together through barriers: ready (the
parent reads the servers' counters), go, everything written, everything done (the parent
reads the counters again), closed; so the parent times each phase across all of them and the
counters hold the work and nothing of the opening and closing.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BATCH = 100  # jobs per enqueue_many, messages per share_many / consume / ack_many


@dataclass(frozen=True)
class Plan:
    url: str
    namespace: str
    clients: int
    per_client: int  # jobs or messages each client writes
    agents: tuple[str, ...] = ()  # bus: the inboxes, dealt to the clients in turn


def noop(ctx: Any) -> None:
    return None


def _jobs_client(plan: Plan, i: int, bar: Any, out: Any) -> None:
    import zerolag

    with zerolag.open(plan.url, namespace=plan.namespace) as hub:
        bar.wait()
        bar.wait()
        t0 = time.process_time()
        for s in range(0, plan.per_client, BATCH):
            hub.jobs.enqueue_many(
                [{"kind": "noop", "payload": j} for j in range(s, min(plan.per_client, s + BATCH))]
            )
        bar.wait()
        stats = hub.jobs.worker({"noop": noop}, concurrency=10, name=f"w{i}").run(burst=True)
        cpu = time.process_time() - t0
        bar.wait()
        bar.wait()
        out.put((i, stats.succeeded, cpu))


def _bus_client(plan: Plan, i: int, bar: Any, out: Any) -> None:
    import zerolag

    mine = plan.agents[i :: plan.clients]
    with zerolag.open(plan.url, namespace=plan.namespace) as hub:
        bus = hub.bus
        bar.wait()
        bar.wait()
        t0 = time.process_time()
        sent = 0
        k = 0
        while sent < plan.per_client:
            n = min(BATCH, plan.per_client - sent)
            target = mine[k % len(mine)]
            bus.share_many(
                [{"source": "p", "target": target, "payload": {"i": sent + j}} for j in range(n)]
            )
            sent += n
            k += 1
        bar.wait()
        got = 0
        left = list(mine)
        while left:
            for agent in list(left):
                ds = bus.consume(agent, group="g", consumer=f"c{i}", count=BATCH)
                if not ds:
                    left.remove(agent)
                    continue
                bus.ack_many(agent, ds, group="g", consumer=f"c{i}")
                got += len(ds)
        cpu = time.process_time() - t0
        bar.wait()
        bar.wait()
        out.put((i, got, cpu))


@dataclass
class Timed:
    write_s: float  # first barrier to everything written
    total_s: float  # first barrier to everything done
    done: int  # jobs processed / messages acknowledged, over all clients
    client_cpu_s: float  # CPU seconds of the client processes (all their threads)


def run(kind: str, plan: Plan, snap: Callable[[], Any]) -> tuple[Timed, Any, Any]:
    """Runs ``plan.clients`` client processes of ``kind`` ("jobs" or "bus") and times them;
    ``snap()`` runs once all clients are ready and again once all are done: its two values
    come back with the timings."""
    ctx = mp.get_context("spawn")  # the hub's threads and sockets are not fork-safe
    bar = ctx.Barrier(plan.clients + 1)
    out = ctx.Queue()
    target = _jobs_client if kind == "jobs" else _bus_client
    procs = [ctx.Process(target=target, args=(plan, i, bar, out)) for i in range(plan.clients)]
    for p in procs:
        p.start()
    try:
        bar.wait(timeout=120)  # ready
        before = snap()
        bar.wait(timeout=60)  # go
        t0 = time.perf_counter()
        bar.wait(timeout=600)  # written
        t1 = time.perf_counter()
        bar.wait(timeout=600)  # done
        t2 = time.perf_counter()
        after = snap()
        bar.wait(timeout=60)  # the clients may close
        results = [out.get(timeout=60) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"{kind} clients exited with {bad}")
    timed = Timed(t1 - t0, t2 - t0, sum(r[1] for r in results), sum(r[2] for r in results))
    return timed, before, after
