"""``hub.jobs``: the asyncio wrapper and the worker runtime.

The queue itself (enqueue, claim, finish, heartbeat, cancel) is native (:class:`zerolag.Jobs`):
one Lua script per operation on Redis, one transaction on the embedded store. This module
only runs handlers between those calls.

A handler is ``handler(ctx) -> result``, a plain function (run on a thread pool) or an
``async def`` (run on an event loop); ``ctx`` is a :class:`JobContext` with the job's id,
payload, attempt and ``progress()``. Its return value (any JSON value) becomes the job's
result; an exception fails the attempt with its text (retried after the backoff while attempts
remain, else the job is dead); running past the job's ``timeout`` fails the attempt too.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import queue
import signal
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from . import tracing
from ._core import AsyncJobs, JobClaim, Jobs
from .exceptions import ValidationError, ZerolagError

__all__ = ["Handler", "JobContext", "Worker", "WorkerStats"]

Seconds = float | timedelta
Backoff = Literal["exponential", "fixed"] | float | timedelta | tuple[str, float]
Handler = Callable[["JobContext"], Any]


@dataclass
class WorkerStats:
    """What a worker did: attempts that succeeded, failed (raised or timed out) and whose
    result was dropped because the claim had gone stale (reclaimed or cancelled)."""

    succeeded: int = 0
    failed: int = 0
    stale: int = 0

    @property
    def processed(self) -> int:
        """All attempts reported."""
        return self.succeeded + self.failed + self.stale


def _job_span(ctx: JobContext) -> Any:
    attrs = {
        "zerolag.job.id": ctx.id,
        "zerolag.job.kind": ctx.kind,
        "zerolag.job.attempt": ctx.attempt,
    }
    return tracing.span("zerolag.job", attrs, parent=tracing.extract(ctx.headers))


def _call(h: Callable[[JobContext], Any], ctx: JobContext) -> Any:
    """Runs a sync handler (in a ``zerolag.job`` span when OpenTelemetry is installed)."""
    if not tracing.enabled():
        return h(ctx)
    with _job_span(ctx):
        return h(ctx)


async def _acall(h: Callable[[JobContext], Any], ctx: JobContext) -> Any:
    """Awaits an async handler (in a ``zerolag.job`` span when OpenTelemetry is installed)."""
    if not tracing.enabled():
        return await h(ctx)
    with _job_span(ctx):
        return await h(ctx)


class JobContext:
    """What a handler receives: the job and a way to report progress."""

    __slots__ = (
        "_claim",
        "_jobs",
        "_visibility",
        "attempt",
        "id",
        "kind",
        "max_attempts",
        "payload",
        "priority",
        "timeout",
        "worker",
    )

    def __init__(self, claim: JobClaim, jobs: Jobs, visibility: float, worker: str) -> None:
        self._claim = claim
        self._jobs = jobs
        self._visibility = visibility
        self.id: str = claim.id
        self.kind: str = claim.kind
        self.payload: Any = claim.payload
        self.attempt: int = claim.attempt
        self.max_attempts: int = claim.max_attempts
        self.priority: int = claim.priority
        self.timeout: float | None = claim.timeout
        self.worker: str = worker

    @property
    def claim(self) -> JobClaim:
        """The claim (id and token) this attempt runs under."""
        return self._claim

    @property
    def headers(self) -> dict[str, str]:
        """The job's headers (``enqueue(headers=...)``): metadata such as a trace context."""
        return self._claim.headers

    def progress(self, value: Any) -> bool:
        """Stores ``value`` (any JSON value, e.g. ``0.4`` or ``{"done": 4, "of": 10}``) as the
        job's progress and extends the claim. False if the claim is gone (the job was cancelled
        or reclaimed): the handler may stop, its result will be dropped. Blocks for one store
        round trip (fine in async handlers too; ``await ctx.aprogress(x)`` avoids it)."""
        try:
            self._jobs.heartbeat(self._claim, visibility=self._visibility, progress=value)
            return True
        except ZerolagError as e:
            if type(e).__name__ in ("ConflictError", "NotFoundError"):
                return False
            raise

    report = progress

    async def aprogress(self, value: Any) -> bool:
        """:meth:`progress` without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, self.progress, value)

    def __repr__(self) -> str:
        return f"JobContext(id={self.id!r}, kind={self.kind!r}, attempt={self.attempt})"


class _JobTimeout(Exception):
    """An async handler ran past its job's timeout (reported as the bare message)."""


log = logging.getLogger("zerolag.jobs")


def _log_failure(c: JobClaim, worker: str, e: BaseException | str) -> None:
    """A failed attempt: WARNING with the traceback while attempts remain, ERROR when the job
    goes dead. Ids, kinds and attempt numbers only: payloads and results may hold secrets."""
    last = c.attempt >= c.max_attempts
    level = logging.ERROR if last else logging.WARNING
    if not log.isEnabledFor(level):
        return
    what = "dead: no attempts left" if last else "retried after its backoff"
    exc = e if isinstance(e, BaseException) else None
    reason = "" if exc is not None else f": {e}"
    log.log(
        level,
        "job %s (%s) failed on attempt %d of %d%s; %s",
        c.id,
        c.kind,
        c.attempt,
        c.max_attempts,
        reason,
        what,
        exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
        extra={"job_id": c.id, "job_kind": c.kind, "attempt": c.attempt, "worker": worker},
    )


def _log_claimed(c: JobClaim, worker: str) -> None:
    if c.attempt > 1:
        log.info(
            "job %s (%s) retry: attempt %d of %d on worker %s",
            c.id,
            c.kind,
            c.attempt,
            c.max_attempts,
            worker,
        )


def _error_text(e: BaseException) -> str:
    if isinstance(e, _JobTimeout):
        return str(e)
    return "".join(traceback.format_exception_only(type(e), e)).strip()


def _transient(e: ZerolagError) -> bool:
    """A store error worth retrying: the connection, a timeout, or a server that is loading
    its data or failing over."""
    name = type(e).__name__
    if name in ("ConnectionError", "TimeoutError"):
        return True
    text = str(e)
    return name == "BackendError" and any(
        w in text
        for w in (
            "LOADING",
            "TRYAGAIN",
            "CLUSTERDOWN",
            "MASTERDOWN",
            "broken pipe",
            "Connection reset",
            "connection",
        )
    )


def _default_name() -> str:
    host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname())
    return f"{host.strip('.-') or 'host'}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


_DROP = "drop"  # an outcome that only frees the slot (claim gone stale)


class _Running:
    __slots__ = ("abandoned", "claim", "deadline")

    def __init__(self, claim: JobClaim, deadline: float | None) -> None:
        self.claim = claim
        self.deadline = deadline
        self.abandoned = False


class Worker:
    """Runs handlers for jobs of their kinds: ``hub.jobs.worker({"email": send}, concurrency=8)``.

    * ``run()`` blocks until :meth:`stop` (or Ctrl-C); ``run(burst=True)`` returns once no job
      is ready and none is running. ``await run_async()`` does the same inside asyncio code
      (async handlers run on the caller's loop, sync ones on threads).
    * ``concurrency``: jobs run at once. ``visibility``: seconds a claim lasts without a
      heartbeat (the worker heartbeats every third of it while a handler runs), so a worker
      that dies loses its jobs to others after at most that long. ``batch``: most jobs one
      claim takes (default: the free slots). ``partitions``: the partitions of a partitioned
      namespace the worker takes jobs from (default: all; docs/scaling.md).
    * Sync handlers that run past their job's ``timeout`` cannot be killed (Python threads
      cannot be): the attempt is failed at once, the slot freed, and the thread's eventual
      result dropped. Async handlers are cancelled.
    * While it runs, the worker is listed by ``hub.jobs.workers()`` (name, host, pid, kinds,
      jobs done and failed): it registers when ``run`` starts, beats every
      :attr:`beat_interval` seconds (a third of ``visibility``, at most 10 s; one store round
      trip per beat, whatever the number of jobs) and unregisters when ``run`` returns. A
      worker killed without a chance to unregister is reported ``lost`` after 3 missed beats.
    """

    def __init__(
        self,
        jobs: Jobs | AsyncJobs,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 1,
        visibility: Seconds = 30.0,
        name: str | None = None,
        batch: int | None = None,
        partitions: Sequence[int] | None = None,
    ) -> None:
        if isinstance(jobs, AsyncJobs):
            self._sync, self._async = jobs._sync_twin(), jobs
        else:
            self._sync, self._async = jobs, jobs._async_twin()
        if not isinstance(handlers, Mapping) or not handlers:
            raise ValidationError("handlers must be a non-empty dict {kind: callable}")
        for k, h in handlers.items():
            if not isinstance(k, str) or not callable(h):
                raise ValidationError(f"handler for {k!r} must be callable, keyed by kind (str)")
        if concurrency < 1:
            raise ValidationError(f"concurrency must be >= 1, got {concurrency}")
        vis = visibility.total_seconds() if isinstance(visibility, timedelta) else float(visibility)
        self.handlers = dict(handlers)
        self.kinds = sorted(self.handlers)
        self.concurrency = concurrency
        self.visibility = vis
        self.name = name or _default_name()
        self.batch = batch
        #: The partitions this worker is pinned to (None: all of the namespace's).
        self.partitions = None if partitions is None else sorted({int(p) for p in partitions})
        self.stats = WorkerStats()
        self._stop = threading.Event()
        self._is_async = {k: inspect.iscoroutinefunction(h) for k, h in self.handlers.items()}
        #: Seconds between the worker's beats in the registry (``hub.jobs.workers()``).
        self.beat_interval = min(max(vis / 3, 0.05), 10.0)

    def __repr__(self) -> str:
        return (
            f"Worker(name={self.name!r}, kinds={self.kinds}, "
            f"concurrency={self.concurrency}, {self.stats})"
        )

    def stop(self) -> None:
        """Stops claiming; ``run`` returns once the running handlers finished (thread-safe)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True after :meth:`stop`."""
        return self._stop.is_set()

    @contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """While ``run`` runs on the main thread: the first SIGINT (Ctrl-C) or SIGTERM stops
        claiming and lets the running handlers finish and be acknowledged (a warm stop, as a
        process manager's SIGTERM expects); a second one raises KeyboardInterrupt (a cold stop:
        what is still running goes back to the queue once its visibility timeout passes). A
        KeyboardInterrupt raised at an arbitrary point of the claim loop could lose track of a
        finished handler and leave ``run`` waiting for it forever."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self._stop.is_set():
                raise KeyboardInterrupt
            self._stop.set()

        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                old[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):  # not settable here (an embedding application)
                pass
        try:
            yield
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)

    # ---------------------------------------------------------------- the workers registry

    def _register(self) -> None:
        self._sync.register_worker(self.name, kinds=self.kinds, interval=self.beat_interval)

    def _beat(self) -> None:
        """One beat in the registry with the totals so far; registers again if the registry
        lost the worker (it was unregistered, or silent for an hour). A store that is away
        only costs this beat."""
        st = self.stats
        try:
            if not self._sync.beat_worker(self.name, st.succeeded, st.failed):
                self._register()
                self._sync.beat_worker(self.name, st.succeeded, st.failed)
        except ZerolagError:
            pass

    async def _abeat(self) -> None:
        """:meth:`_beat` without blocking the event loop."""
        st, aj = self.stats, self._async
        try:
            if not await aj.beat_worker(self.name, st.succeeded, st.failed):
                await aj.register_worker(self.name, kinds=self.kinds, interval=self.beat_interval)
                await aj.beat_worker(self.name, st.succeeded, st.failed)
        except ZerolagError:
            pass

    def _unregister(self) -> None:
        try:
            self._sync.unregister_worker(self.name)
        except ZerolagError:
            pass  # a record left behind shows as lost, then goes

    def _want(self, free: int) -> int:
        return max(1, min(free, self.batch or free, 1000))

    def _outcome(self, run: _Running, fn: Callable[[], Any]) -> tuple[str, str, str, Any]:
        c = run.claim
        try:
            return (c.id, c.token, "done", fn())
        except Exception as e:  # the handler's failure is the attempt's result
            _log_failure(c, self.name, e)
            return (c.id, c.token, "failed", _error_text(e))

    # ---------------------------------------------------------------- sync runtime

    def run(self, *, burst: bool = False) -> WorkerStats:
        """Runs until :meth:`stop` (or, with ``burst``, until no job is ready or running)."""
        self._stop.clear()
        n = self.concurrency
        done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Keyed by (job id, claim token): a retry due at once can be claimed, under the same
        # job id, before its failed attempt is put away; the two must not be confused.
        running: dict[tuple[str, str], _Running] = {}
        cond = threading.Condition()
        state = {"free": n}
        pool = ThreadPoolExecutor(max_workers=n + 8, thread_name_prefix=f"zl-job-{self.name}")
        loop_box: list[asyncio.AbstractEventLoop] = []

        def event_loop() -> asyncio.AbstractEventLoop:
            if not loop_box:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, daemon=True, name=f"zl-jobs-loop-{self.name}"
                ).start()
                loop_box.append(loop)
            return loop_box[0]

        def finisher() -> None:
            while True:
                item = done.get()
                batch = [item]
                while True:
                    try:
                        batch.append(done.get_nowait())
                    except queue.Empty:
                        break
                stop = any(b is None for b in batch)
                items = [b for b in batch if b is not None and b[2] != _DROP]
                acks = self._retry(self._sync._finish, items) if items else []
                freed = 0
                with cond:
                    for b, ack in zip(items, acks, strict=True):
                        r = running.pop((b[0], b[1]), None)
                        if ack != "ok":
                            self.stats.stale += 1
                        elif b[2] == "done":
                            self.stats.succeeded += 1
                        else:
                            self.stats.failed += 1
                        if r is not None:
                            freed += 1
                    for b in batch:
                        if b is not None and b[2] == _DROP and running.pop((b[0], b[1]), None):
                            self.stats.stale += 1
                            freed += 1
                    state["free"] += freed
                    cond.notify_all()
                if stop:
                    return

        def heartbeater() -> None:
            interval = max(self.visibility / 3, 0.02)
            while not hb_stop.wait(min(interval, 0.25)):
                now = time.monotonic()
                if now - last_beat[0] >= self.beat_interval:
                    last_beat[0] = now
                    self._beat()
                with cond:
                    # Every claim not yet acknowledged, finished or not: a result waiting
                    # for the finisher must not lose its claim meanwhile.
                    live = list(running.values())
                for r in live:
                    if not r.abandoned and r.deadline is not None and now >= r.deadline:
                        c = r.claim
                        _log_failure(c, self.name, f"timed out after {c.timeout:g} s")
                        give_up(r, (c.id, c.token, "failed", f"timed out after {c.timeout:g} s"))
                if not live or now - last_hb[0] < interval:
                    continue
                last_hb[0] = now
                try:
                    acks = self._sync._heartbeat(
                        [(r.claim.id, r.claim.token, None) for r in live], self.visibility
                    )
                except ZerolagError:
                    continue
                for r, ack in zip(live, acks, strict=True):
                    if ack != "ok":
                        give_up(r, (r.claim.id, r.claim.token, _DROP, None))

        def give_up(run: _Running, out: tuple[str, str, str, Any]) -> None:
            # The first of (result, timeout, lost claim) wins; the others are dropped.
            with cond:
                if run.abandoned:
                    return
                run.abandoned = True
            done.put(out)

        def on_done(run: _Running, out: tuple[str, str, str, Any]) -> None:
            give_up(run, out)

        def start(c: JobClaim) -> None:
            _log_claimed(c, self.name)
            ctx = JobContext(c, self._sync, self.visibility, self.name)
            deadline = time.monotonic() + c.timeout if c.timeout else None
            run = _Running(c, deadline)
            running[(c.id, c.token)] = run
            h = self.handlers[c.kind]
            if self._is_async[c.kind]:

                async def call() -> Any:
                    coro = _acall(h, ctx)
                    if not c.timeout:
                        return await coro
                    try:
                        return await asyncio.wait_for(coro, c.timeout)
                    except asyncio.TimeoutError:
                        raise _JobTimeout(f"timed out after {c.timeout:g} s") from None

                def run_async_handler() -> tuple[str, str, str, Any]:
                    try:
                        fut = asyncio.run_coroutine_threadsafe(call(), event_loop())
                        return self._outcome(run, fut.result)
                    except BaseException as e:
                        _log_failure(c, self.name, e)
                        return (c.id, c.token, "failed", _error_text(e))

                f: Future[Any] = pool.submit(run_async_handler)
            else:
                f = pool.submit(self._outcome, run, lambda: _call(h, ctx))
            f.add_done_callback(lambda fut: on_done(run, fut.result()))

        hb_stop = threading.Event()
        last_hb = [time.monotonic()]
        last_beat = [time.monotonic()]
        fin = threading.Thread(target=finisher, daemon=True, name=f"zl-jobs-fin-{self.name}")
        hb = threading.Thread(target=heartbeater, daemon=True, name=f"zl-jobs-hb-{self.name}")
        cold = False
        # The signal handlers go in before the worker registers: a SIGINT or SIGTERM sent once
        # it is listed must stop it as warmly as one sent later.
        with self._stop_on_signals():
            try:
                self._register()
            except ZerolagError:
                last_beat[0] = 0.0  # the first beat registers it once the store answers
            fin.start()
            hb.start()
            log.info("worker %s started: kinds %s, concurrency %d", self.name, self.kinds, n)
            try:
                while not self._stop.is_set():
                    with cond:
                        while state["free"] == 0 and not self._stop.is_set():
                            cond.wait(0.25)
                        free = state["free"]
                        busy = n - free
                    if self._stop.is_set():
                        break
                    block = 0 if burst else 500
                    claims = self._retry(
                        self._sync.claim,
                        self.kinds,
                        count=self._want(free),
                        worker=self.name,
                        visibility=self.visibility,
                        block_ms=block,
                        partitions=self.partitions,
                    )
                    with cond:
                        state["free"] -= len(claims)
                        for c in claims:
                            start(c)
                    if not claims and burst:
                        if busy == 0:
                            with cond:
                                if state["free"] == n:
                                    break
                        with cond:
                            cond.wait(0.05)
            except KeyboardInterrupt:
                # A second signal (the first only set the flag) is a cold stop.
                cold = self._stop.is_set()
                self._stop.set()
            finally:
                try:
                    if cold:
                        raise KeyboardInterrupt
                    with cond:
                        while state["free"] < n and running:
                            cond.wait(0.1)
                except KeyboardInterrupt:
                    cold = True  # unfinished claims go back once their visibility passes
                done.put(None)
                fin.join()
                hb_stop.set()
                hb.join()
                self._unregister()  # after the last beat, which could register it again
                pool.shutdown(wait=False)
                if loop_box:
                    loop_box[0].call_soon_threadsafe(loop_box[0].stop)
                self._log_stopped(cold)
                if cold:
                    raise KeyboardInterrupt
        return self.stats

    def _log_stopped(self, cold: bool = False) -> None:
        s = self.stats
        log.info(
            "worker %s stopped%s: %d succeeded, %d failed, %d stale",
            self.name,
            " (cold: unfinished claims return after their visibility)" if cold else "",
            s.succeeded,
            s.failed,
            s.stale,
        )

    def _retry(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Calls ``fn`` until it stops failing on the store's connection (a restarting server),
        backing off up to a second."""
        delay = 0.02
        while True:
            try:
                return fn(*args, **kw)
            except ZerolagError as e:
                if not _transient(e):
                    raise
                log.warning("worker %s: %s; retrying", self.name, e)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    # ---------------------------------------------------------------- async runtime

    async def run_async(self, *, burst: bool = False) -> WorkerStats:
        """:meth:`run` inside asyncio code: async handlers run on this loop, sync ones on
        threads."""
        self._stop.clear()
        aj = self._async
        n = self.concurrency
        running: dict[tuple[str, str], _Running] = {}  # by (job id, claim token), as in run()
        free = [n]
        changed = asyncio.Event()
        tasks: set[asyncio.Task[Any]] = set()

        async def aretry(make: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
            delay = 0.02
            while True:
                try:
                    return await make(*args, **kw)
                except ZerolagError as e:
                    if not _transient(e):
                        raise
                    log.warning("worker %s: %s; retrying", self.name, e)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)

        async def one(run: _Running) -> None:
            c = run.claim
            ctx = JobContext(c, self._sync, self.visibility, self.name)
            h = self.handlers[c.kind]
            try:
                aw: Awaitable[Any]
                if self._is_async[c.kind]:
                    aw = _acall(h, ctx)
                else:
                    aw = asyncio.get_running_loop().run_in_executor(None, _call, h, ctx)
                res = await (asyncio.wait_for(aw, c.timeout) if c.timeout else aw)
                out: tuple[str, str, str, Any] = (c.id, c.token, "done", res)
            except asyncio.TimeoutError:
                out = (c.id, c.token, "failed", f"timed out after {c.timeout:g} s")
                _log_failure(c, self.name, out[3])
            except Exception as e:
                _log_failure(c, self.name, e)
                out = (c.id, c.token, "failed", _error_text(e))
            try:
                if not run.abandoned:
                    acks = await aretry(aj._finish, [out])
                    if acks[0] != "ok":
                        self.stats.stale += 1
                    elif out[2] == "done":
                        self.stats.succeeded += 1
                    else:
                        self.stats.failed += 1
                else:
                    self.stats.stale += 1
            finally:
                running.pop((c.id, c.token), None)
                free[0] += 1
                changed.set()

        async def heartbeat() -> None:
            interval = max(self.visibility / 3, 0.02)
            last_beat = last_hb = time.monotonic()
            while True:
                await asyncio.sleep(min(interval, self.beat_interval))
                if time.monotonic() - last_beat >= self.beat_interval * 0.9:
                    last_beat = time.monotonic()
                    await self._abeat()
                live = [r for r in running.values() if not r.abandoned]
                if not live or time.monotonic() - last_hb < interval * 0.9:
                    continue
                last_hb = time.monotonic()
                try:
                    acks = await aj._heartbeat(
                        [(r.claim.id, r.claim.token, None) for r in live], self.visibility
                    )
                except ZerolagError:
                    continue
                for r, ack in zip(live, acks, strict=True):
                    if ack != "ok":
                        r.abandoned = True

        try:
            await aj.register_worker(self.name, kinds=self.kinds, interval=self.beat_interval)
        except ZerolagError:
            pass  # the first beat registers it once the store answers
        hb = asyncio.ensure_future(heartbeat())
        log.info("worker %s started: kinds %s, concurrency %d (asyncio)", self.name, self.kinds, n)
        try:
            while not self._stop.is_set():
                if free[0] == 0:
                    changed.clear()
                    try:
                        await asyncio.wait_for(changed.wait(), 0.25)
                    except asyncio.TimeoutError:
                        pass
                    continue
                want = self._want(free[0])
                claims = await aretry(
                    aj.claim,
                    self.kinds,
                    count=want,
                    worker=self.name,
                    visibility=self.visibility,
                    block_ms=0 if burst else 500,
                    partitions=self.partitions,
                )
                for c in claims:
                    _log_claimed(c, self.name)
                    run = _Running(c, None)
                    running[(c.id, c.token)] = run
                    free[0] -= 1
                    t = asyncio.ensure_future(one(run))
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)
                if not claims and burst:
                    if not running:
                        break
                    changed.clear()
                    try:
                        await asyncio.wait_for(changed.wait(), 0.05)
                    except asyncio.TimeoutError:
                        pass
        finally:
            if tasks:
                await asyncio.gather(*list(tasks), return_exceptions=True)
            hb.cancel()
            self._log_stopped()
            await asyncio.gather(hb, return_exceptions=True)
            try:
                await aj.unregister_worker(self.name)
            except ZerolagError:
                pass  # a record left behind shows as lost, then goes
        return self.stats
