"""``zerolag.DualLoop`` against the dual loop written with asyncio + redis-py
(baseline_loop.py: asyncio + redis-py).

* frontend-path overhead: the wall time of ``send`` with a zero-latency model (it returns a
  fixed reply with one ``tc`` command at once), i.e. everything but the model: status, prompt,
  extraction, validation, task index, durable enqueue. p50/p99 over 10,000 sends (100
  sessions), on Redis (both) and on the embedded store (ours; the baseline needs Redis).
  On Redis our ``send``, the bare enqueue round trip and the baseline take turns in blocks
  of 1,000, so each sees the same machine state; ``asend`` runs after them.
* command -> first backend event: from the start of ``send`` until the session's subscriber
  holds the worker's first event about that command (worker and subscriber in this process).

``run(url, quick=False, log=print)`` returns rows for bench/run.py.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baseline_loop  # noqa: E402
import zerolag  # noqa: E402

# For bench/run.py (see bench/README.md): whether run() needs a Redis URL, and where
# a run of all suites runs this one (ascending).
NEEDS_REDIS = True
ORDER = 90

REPLY = "Sure, I'm on it. [tc:Build the export feature|data_export|medium] You'll see progress."
MESSAGE = "Please build the export feature"


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def _model(messages: list[dict[str, str]]) -> str:
    return REPLY


_model.blocking = False  # type: ignore[attr-defined]


async def _amodel(messages: list[dict[str, str]]) -> str:
    return REPLY


def _row(name: str, ours: list[float], base: list[float] | None, note: str) -> dict[str, Any]:
    o99 = _pct(ours, 99)
    row: dict[str, Any] = {
        "name": name,
        "ours": round(o99, 1),
        "unit": "us p99",
        "ours_p50_us": round(statistics.median(ours), 1),
        "ours_p99_us": round(o99, 1),
        "note": note,
    }
    if base:
        b99 = _pct(base, 99)
        row.update(
            baseline=round(b99, 1),
            ratio=round(b99 / o99, 2),
            baseline_p50_us=round(statistics.median(base), 1),
            baseline_p99_us=round(b99, 1),
        )
    return row


def _ours_overhead(hub: zerolag.Hub, n: int) -> list[float]:
    """``send`` latencies, back to back (the embedded rows)."""
    loop = zerolag.DualLoop(hub, _model)
    loop.register("tc", lambda cmd, ctx: None)
    for i in range(200):  # warm up
        loop.send(f"w{i % 10}", MESSAGE)
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        loop.send(f"s{i % 100}", MESSAGE)
        lat.append((time.perf_counter() - t0) * 1e6)
    loop.close()
    return lat


BLOCK = 1000  # sends per block; the contenders take turns block by block


def _overheads(url: str, hub: zerolag.Hub, n: int) -> dict[str, list[float]]:
    """On Redis, in blocks that take turns (so each sees the same machine state; a VM's
    noise comes and goes over seconds; who goes first rotates): our ``send``, the one store
    round trip it cannot skip (enqueueing one command's job alone) and the baseline's
    ``send``; then our ``asend``."""
    sync_loop = zerolag.DualLoop(hub, _model)
    async_loop = zerolag.DualLoop(hub, _amodel)
    for lp in (sync_loop, async_loop):
        lp.register("tc", lambda cmd, ctx: None)
    item = [{"kind": "loop.tc", "payload": {"s": "x", "c": REPLY[18:64], "e": "t_0", "n": 1}}]
    base = baseline_loop.BaselineLoop(
        url, "bench-loop-base-" + uuid.uuid4().hex[:8], _amodel, {"tc"}
    )
    out: dict[str, list[float]] = {"send": [], "floor": [], "asend": [], "baseline": []}

    async def main() -> None:
        async def ours_async(session: str) -> None:
            await async_loop.asend(session, MESSAGE)

        async def ours_sync(session: str) -> None:
            sync_loop.send(session, MESSAGE)

        async def floor(session: str) -> None:
            hub.jobs.enqueue_many(item)

        async def baseline(session: str) -> None:
            await base.send(session, MESSAGE)

        # asend on its own afterwards: the async bridge leaves runtime threads awake for a
        # while, which would slow whatever ran next.
        steps = [("send", ours_sync), ("floor", floor), ("baseline", baseline)]
        try:
            for _, f in steps:  # warm up
                for i in range(200):
                    await f(f"w{i % 10}")
            done = 0
            while done < n:
                block = min(BLOCK, n - done)
                k = (done // BLOCK) % len(steps)  # rotate who goes first
                for name, f in steps[k:] + steps[:k]:
                    lat = out[name]
                    for i in range(done, done + block):
                        t0 = time.perf_counter()
                        await f(f"s{i % 100}")
                        lat.append((time.perf_counter() - t0) * 1e6)
                done += block
            for i in range(200):
                await ours_async(f"w{i % 10}")
            for i in range(n):
                t0 = time.perf_counter()
                await ours_async(f"a{i % 100}")
                out["asend"].append((time.perf_counter() - t0) * 1e6)
            await base.drop_keys()
        finally:
            await base.close()

    try:
        asyncio.run(main())
    finally:
        sync_loop.close()
        async_loop.close()
    return out


PAUSE = 0.05  # seconds between the sends of the "after a pause" rows


def _ours_paused(hub: zerolag.Hub, n: int) -> list[float]:
    """``send`` latencies with a pause before each, as in a chat (caches and CPUs cool)."""
    loop = zerolag.DualLoop(hub, _model, name="paused")
    loop.register("tc", lambda cmd, ctx: None)
    for i in range(20):
        loop.send(f"w{i % 10}", MESSAGE)
    lat = []
    for i in range(n):
        time.sleep(PAUSE)
        t0 = time.perf_counter()
        loop.send(f"p{i % 10}", MESSAGE)
        lat.append((time.perf_counter() - t0) * 1e6)
    loop.close()
    return lat


def _baseline_paused(url: str, n: int) -> list[float]:
    async def main() -> list[float]:
        base = baseline_loop.BaselineLoop(
            url, "bench-loop-pause-" + uuid.uuid4().hex[:8], _amodel, {"tc"}
        )
        try:
            for i in range(20):
                await base.send(f"w{i % 10}", MESSAGE)
            lat = []
            for i in range(n):
                await asyncio.sleep(PAUSE)
                t0 = time.perf_counter()
                await base.send(f"p{i % 10}", MESSAGE)
                lat.append((time.perf_counter() - t0) * 1e6)
            await base.drop_keys()
            return lat
        finally:
            await base.close()

    return asyncio.run(main())


def _ours_first_event(hub: zerolag.Hub, n: int) -> list[float]:
    loop = zerolag.DualLoop(hub, _model, name="fe")
    loop.register("tc", lambda cmd, ctx: None)
    backend = threading.Thread(target=loop.run_backend, kwargs={"concurrency": 2}, daemon=True)
    backend.start()
    lat = []
    try:
        with hub.events.subscribe(loop.channel("fe")) as sub:
            for _ in range(n):
                t0 = time.perf_counter()
                r = loop.send("fe", MESSAGE)
                while True:
                    ev = sub.get(timeout=10)
                    if ev is None:
                        raise RuntimeError("no backend event")
                    if ev.data.get("j") == r.jobs[0]:
                        break
                lat.append((time.perf_counter() - t0) * 1e6)
                while sub.get(timeout=0.05) is not None:  # drain the rest of its events
                    pass
    finally:
        loop.close()
        backend.join(5)
    return lat


def _baseline_first(url: str, n_first: int) -> list[float]:
    async def main() -> list[float]:
        ns = "bench-loop-base-" + uuid.uuid4().hex[:8]
        loop = baseline_loop.BaselineLoop(url, ns, _amodel, {"tc"})
        try:

            async def handler(fields: list[str], entity: str) -> Any:
                return None

            stop = asyncio.Event()
            workers = [asyncio.ensure_future(loop.worker({"tc": handler}, stop)) for _ in range(2)]
            first = []
            for _ in range(n_first):
                s = await loop.first_event("fe", lambda: loop.send("fe", MESSAGE))
                first.append(s * 1e6)
            stop.set()
            await asyncio.gather(*workers)
            await loop.drop_keys()
            return first
        finally:
            await loop.close()

    return asyncio.run(main())


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    n, n_first = (500, 50) if quick else (10_000, 500)
    n_pause = 20 if quick else 200
    rows: list[dict[str, Any]] = []
    how = f"{n:,} sends, 100 sessions, zero-latency model, one tc command per reply"
    turns = "; ours and the baseline take turns in blocks of 1,000"
    base_lat: list[float] = []
    if url:
        log("  loop on redis (ours and the baseline taking turns, blocks of 1,000 sends)")
        ns = "bench-loop-" + uuid.uuid4().hex[:8]
        with zerolag.open(url, namespace=ns) as hub:
            try:
                lat = _overheads(url, hub, n)
                ours_first = _ours_first_event(hub, n_first)
                ours_paused = _ours_paused(hub, n_pause)
            finally:
                hub.clear()
        ours, floor, ours_async, base_lat = lat["send"], lat["floor"], lat["asend"], lat["baseline"]
        log("  baseline (asyncio + redis-py) on redis: first events")
        base_first = _baseline_first(url, n_first)
        base_paused = _baseline_paused(url, n_pause)
        rows.append(
            {
                **_row("send() frontend-path overhead [redis]", ours, base_lat, how + turns),
                "target": 3.0,  # the bar: at least 3x lower overhead than the Python loop
            }
        )
        rows.append(
            _row(
                "one enqueue round trip alone (the floor of send) [redis]",
                floor,
                None,
                f"{n:,} hub.jobs.enqueue_many of one job (in turn with the sends): what any "
                "durable send must wait for",
            )
        )
        rows.append(
            _row(
                "asend() frontend-path overhead [redis]",
                ours_async,
                base_lat,
                how + "; ours sends the enqueue from the event loop's thread and takes a fast "
                "reply there (run after the others)",
            )
        )
        rows.append(
            _row(
                "send() after a pause [redis]",
                ours_paused,
                base_paused,
                f"{n_pause} sends, each {PAUSE * 1e3:.0f} ms after the last (as in a chat: "
                "caches and CPUs cool down), zero-latency model",
            )
        )
        rows.append(
            _row(
                "command -> first backend event [redis]",
                ours_first,
                base_first,
                f"{n_first} commands one at a time; worker (2 slots) and subscriber in-process",
            )
        )
    log("  loop on embedded")
    with tempfile.TemporaryDirectory(prefix="zl-bench-loop-") as d:
        with zerolag.open(root=d, namespace="bench-loop") as hub:
            ours = _ours_overhead(hub, n)
            ours_first = _ours_first_event(hub, n_first)
            ours_paused = _ours_paused(hub, n_pause)
    rows.append(
        _row(
            "send() frontend-path overhead [embedded]",
            ours,
            base_lat or None,
            how + ("; baseline: the asyncio + redis-py loop on Redis" if base_lat else ""),
        )
    )
    rows.append(
        _row(
            "send() after a pause [embedded]",
            ours_paused,
            None,
            f"{n_pause} sends, each {PAUSE * 1e3:.0f} ms after the last, zero-latency model",
        )
    )
    rows.append(
        _row(
            "command -> first backend event [embedded]",
            ours_first,
            None,
            f"{n_first} commands one at a time; worker (2 slots) and subscriber in-process",
        )
    )
    return rows


if __name__ == "__main__":
    for r in run(sys.argv[1] if len(sys.argv) > 1 else None, quick="--quick" in sys.argv):
        print(r)
