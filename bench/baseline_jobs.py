"""Baselines for the `jobs` suite: RQ and arq, the real packages, used the way their docs
recommend for throughput with no-op jobs.

* RQ: ``Queue.enqueue`` per job (and ``enqueue_many`` with a pipeline for the batched row),
  processed by ``SimpleWorker(...).work(burst=True)``. SimpleWorker runs jobs in the worker
  process; the default ``Worker`` forks once per job, which for no-op jobs only measures
  ``fork()``, so a competent user chasing throughput picks SimpleWorker.
* arq: ``await pool.enqueue_job`` per job (arq has no batch enqueue), processed by
  ``Worker(functions, burst=True)`` with its defaults (``max_jobs=10``, results kept)
  except ``poll_delay``, shortened from 0.5 s to 1 ms (see below).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker as ArqWorker
from arq.worker import func
from rq import Queue, SimpleWorker


def noop(i: int) -> None:
    """The RQ job (RQ imports it by name, so it lives at module level)."""


async def arq_noop(ctx: dict[str, Any], i: int) -> None:
    """The arq job."""


def rq_run(url: str, n: int, queue: str, *, batch: bool = False) -> tuple[float, float]:
    """Enqueues n no-op jobs and drains them with a burst SimpleWorker: (enqueue s, work s)."""
    conn = redis.Redis.from_url(url)
    q = Queue(queue, connection=conn)
    t0 = time.perf_counter()
    if batch:
        for s in range(0, n, 1000):
            q.enqueue_many([Queue.prepare_data(noop, (i,)) for i in range(s, min(n, s + 1000))])
    else:
        for i in range(n):
            q.enqueue(noop, i)
    t1 = time.perf_counter()
    SimpleWorker([q], connection=conn).work(burst=True, logging_level="WARNING")
    t2 = time.perf_counter()
    left = q.count
    q.delete(delete_jobs=True)
    conn.close()
    if left:
        raise RuntimeError(f"RQ left {left} jobs unprocessed")
    return t1 - t0, t2 - t1


async def _arq(url: str, n: int, queue: str, poll_delay: float) -> tuple[float, float]:
    pool = await create_pool(RedisSettings.from_dsn(url), default_queue_name=queue)
    t0 = time.perf_counter()
    for i in range(n):
        await pool.enqueue_job("arq_noop", i)
    t1 = time.perf_counter()
    worker = ArqWorker(
        functions=[func(arq_noop, name="arq_noop")],
        redis_pool=pool,
        queue_name=queue,
        burst=True,
        handle_signals=False,
        # arq sleeps poll_delay (default 0.5 s) between reads of the queue even while jobs
        # wait, which caps a burst at ~200 jobs/s; a user after throughput shortens it.
        poll_delay=poll_delay,
    )
    await worker.main()
    t2 = time.perf_counter()
    done = worker.jobs_complete
    await worker.close()
    if done != n:
        raise RuntimeError(f"arq completed {done} of {n} jobs")
    return t1 - t0, t2 - t1


def arq_run(url: str, n: int, queue: str, poll_delay: float = 0.001) -> tuple[float, float]:
    """Enqueues n no-op jobs and drains them with a burst arq worker: (enqueue s, work s)."""
    return asyncio.run(_arq(url, n, queue, poll_delay))
