"""The `jobs` suite: enqueue and process no-op jobs through zerolag's job queue against RQ
and arq (bench/baseline_jobs.py) on the same redis-server in one run, then on the embedded
backend. See bench/README.md.

Each system enqueues N jobs (one call per job, and batched where the library can), then a
burst worker in the same process drains them; a row reports jobs per second for enqueue,
for processing and for both together (the job throughput the issue's target is about).
zerolag's worker runs a sync handler on 10 threads against RQ's SimpleWorker, and an async
handler with concurrency 10 against arq (max_jobs=10, poll_delay 1 ms).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import zerolag  # noqa: E402
from baseline_jobs import arq_run, rq_run  # noqa: E402

# For bench/run.py (see bench/README.md): whether run() needs a Redis URL, and where
# a run of all suites runs this one (ascending).
NEEDS_REDIS = True
ORDER = 50


def noop(ctx: Any) -> None:
    return None


async def anoop(ctx: Any) -> None:
    return None


def ours_run(hub: zerolag.Hub, n: int, *, batch: bool, use_async: bool) -> tuple[float, float]:
    """(enqueue s, work s) for n no-op jobs through `hub.jobs`."""
    t0 = time.perf_counter()
    if batch:
        for s in range(0, n, 1000):
            hub.jobs.enqueue_many(
                [{"kind": "noop", "payload": i} for i in range(s, min(n, s + 1000))]
            )
    else:
        for i in range(n):
            hub.jobs.enqueue("noop", i)
    t1 = time.perf_counter()
    if use_async:
        w = hub.jobs.worker({"noop": anoop}, concurrency=10)
        stats = asyncio.run(w.run_async(burst=True))
    else:
        w = hub.jobs.worker({"noop": noop}, concurrency=10)
        stats = w.run(burst=True)
    t2 = time.perf_counter()
    if stats.succeeded != n:
        raise RuntimeError(f"zerolag processed {stats.succeeded} of {n} jobs")
    hub.jobs.purge()
    return t1 - t0, t2 - t1


def best(f: Any, reps: int) -> tuple[float, float]:
    """The fastest of `reps` runs, by total time."""
    return min((f() for _ in range(reps)), key=lambda t: t[0] + t[1])


def rows_for(
    name: str, n: int, ours: tuple[float, float], base: tuple[float, float]
) -> list[dict[str, Any]]:
    out = []
    for what, o, b in (
        ("enqueue", ours[0], base[0]),
        ("process", ours[1], base[1]),
        ("enqueue+process", ours[0] + ours[1], base[0] + base[1]),
    ):
        d: dict[str, Any] = {
            "name": f"{what} {n:,} no-op jobs, {name}",
            "ours": n / o,
            "baseline": n / b,
            "unit": "jobs/s",
            "ratio": b / o,
        }
        if what == "enqueue+process":
            d["target"] = 3.0
        out.append(d)
    return out


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    n = 500 if quick else 10_000
    reps = 1 if quick else 2
    rows: list[dict[str, Any]] = []
    rq_total: float | None = None
    if url:
        hub = zerolag.open(url, namespace="bj" + uuid.uuid4().hex[:8])
        try:
            for batch in (False, True):
                how = "batched enqueue" if batch else "one enqueue call per job"
                ours = best(lambda b=batch: ours_run(hub, n, batch=b, use_async=False), reps)
                q = "bench-" + uuid.uuid4().hex[:8]
                rq = best(lambda b=batch, q=q: rq_run(url, n, q, batch=b), reps)
                rows += rows_for(f"redis, {how}, vs RQ SimpleWorker", n, ours, rq)
                log(f"  {how}: zerolag {n / sum(ours):,.0f} jobs/s, RQ {n / sum(rq):,.0f} jobs/s")
                if not batch:
                    rq_total = n / sum(rq)
            ours = best(lambda: ours_run(hub, n, batch=False, use_async=True), reps)
            arq = best(lambda: arq_run(url, n, "arq-" + uuid.uuid4().hex[:8]), reps)
            rows += rows_for("redis, async handlers, vs arq", n, ours, arq)
            log(f"  async: zerolag {n / sum(ours):,.0f} jobs/s, arq {n / sum(arq):,.0f} jobs/s")
        finally:
            hub.clear()
            hub.close()
    with tempfile.TemporaryDirectory(prefix="zerolag-bench-jobs-") as root:
        with zerolag.open(root=root, namespace="bj") as emb:
            for batch in (False, True):
                how = "batched enqueue" if batch else "one enqueue call per job"
                ours = best(lambda b=batch: ours_run(emb, n, batch=b, use_async=False), reps)
                total = n / sum(ours)
                d: dict[str, Any] = {
                    "name": f"embedded enqueue+process {n:,} no-op jobs, {how}",
                    "ours": total,
                    "baseline": rq_total if not batch else None,
                    "unit": "jobs/s",
                    "note": f"enqueue {n / ours[0]:,.0f}/s, process {n / ours[1]:,.0f}/s"
                    + (
                        "; baseline: RQ on Redis (one call per job)"
                        if rq_total and not batch
                        else ""
                    ),
                }
                if d["baseline"]:
                    d["ratio"] = total / d["baseline"]
                rows.append(d)
                log(f"  embedded, {how}: {total:,.0f} jobs/s")
    return rows
