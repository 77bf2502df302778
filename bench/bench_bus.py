"""The `bus` suite: share -> consume -> ack through zerolag's bus against redis-py baselines
(bench/baseline_bus.py: a ContextSync-style stream bus, and a consumer-group version),
on the same redis-server in one run; then the embedded backend, including the delivery
latency from a producer process to a consumer process. See bench/README.md.

Throughput: N shares (one call each), then a consumer reads in batches of 100 and acks each
message (one call each) or each batch (one call per batch: ``ack_many`` / one pipeline).
Latency: a producer thread (or process) shares one message per millisecond stamped with the
clock; a blocked consumer notes when it arrives.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis  # noqa: E402
import zerolag  # noqa: E402
from baseline_bus import ContextSync, GroupBus  # noqa: E402

# For bench/run.py (see bench/README.md): whether run() needs a Redis URL, and where
# a run of all suites runs this one (ascending).
NEEDS_REDIS = True
ORDER = 40


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def ours_cycle(bus: Any, n: int, batch: bool) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        bus.share("p", "w", {"i": i})
    got = 0
    while got < n:
        ds = bus.consume("w", group="g", consumer="c", count=100)
        if batch:
            bus.ack_many("w", ds, group="g", consumer="c")
        else:
            for d in ds:
                bus.ack("w", d, group="g", consumer="c")
        got += len(ds)
    return n / (time.perf_counter() - t0)


def ours_batched(bus: Any, n: int) -> float:
    """share_many of 100, consume 100, ack_many: the batched path end to end."""
    t0 = time.perf_counter()
    for s in range(0, n, 100):
        bus.share_many(
            [{"source": "p", "target": "w", "payload": {"i": i}} for i in range(s, min(n, s + 100))]
        )
    got = 0
    while got < n:
        ds = bus.consume("w", group="g", consumer="c", count=100)
        bus.ack_many("w", ds, group="g", consumer="c")
        got += len(ds)
    return n / (time.perf_counter() - t0)


def group_batched(gb: GroupBus, n: int) -> float:
    t0 = time.perf_counter()
    for s in range(0, n, 100):
        gb.share_many("p", "w", [{"i": i} for i in range(s, min(n, s + 100))])
    got = 0
    while got < n:
        ds = gb.consume("w", "g", "c", count=100)
        gb.ack("w", "g", [i for i, _ in ds])
        got += len(ds)
    return n / (time.perf_counter() - t0)


def contextsync_cycle(cs: ContextSync, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        cs.share("p", "w", {"i": i})
    got = 0
    while got < n:
        ms = cs.get_pending("w", 100)
        for m in ms:
            cs.acknowledge(m["id"], "w")
        got += len(ms)
    return n / (time.perf_counter() - t0)


def group_cycle(gb: GroupBus, n: int, batch: bool) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        gb.share("p", "w", {"i": i})
    got = 0
    while got < n:
        ds = gb.consume("w", "g", "c", count=100)
        if batch:
            gb.ack("w", "g", [i for i, _ in ds])
        else:
            for i, _ in ds:
                gb.ack("w", "g", [i])
        got += len(ds)
    return n / (time.perf_counter() - t0)


def latency(send: Any, recv: Any, n: int) -> list[float]:
    """Microseconds from share to receipt; `send(stamp_ns)`, `recv()` -> list of stamps."""
    out: list[float] = []

    def produce() -> None:
        for _ in range(n):
            send(time.perf_counter_ns())
            time.sleep(0.001)

    t = threading.Thread(target=produce)
    t.start()
    while len(out) < n:
        for stamp in recv():
            out.append((time.perf_counter_ns() - stamp) / 1000)
    t.join()
    return out


def row(name: str, ours: float, base: float | None, unit: str, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"name": name, "ours": ours, "baseline": base, "unit": unit}
    if base:
        d["ratio"] = ours / base
    d.update(kw)
    return d


def lat_row(name: str, ours: list[float], base: list[float] | None, **kw: Any) -> dict[str, Any]:
    p99, b99 = _pct(ours, 0.99), (_pct(base, 0.99) if base else None)
    d = row(name, p99, b99, "us p99", **kw)
    d["ratio"] = (b99 / p99) if b99 else None
    d["ours_p50_us"], d["ours_p99_us"] = _pct(ours, 0.5), p99
    if base:
        d["baseline_p50_us"], d["baseline_p99_us"] = _pct(base, 0.5), b99
    return d


PRODUCER = """
import sys, time, zerolag
hub = zerolag.open(root=sys.argv[1], namespace=sys.argv[2])
n = int(sys.argv[3])
time.sleep(0.3)
for _ in range(n):
    hub.bus.share("p", "w", time.time_ns())
    time.sleep(0.002)
"""


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    n = 500 if quick else 5_000
    nlat = 100 if quick else 1_000
    rows: list[dict[str, Any]] = []
    if url:
        r = redis.Redis.from_url(url)
        reader = redis.Redis.from_url(url)
        for batch in (False, True):
            ns = "b" + uuid.uuid4().hex[:8]
            hub = zerolag.open(url, namespace=ns)
            hub.bus.register("w")
            hub.bus.consume("w", group="g", consumer="c")
            cs = ContextSync(r, prefix=f"bc{ns}")
            gb = GroupBus(r, reader, prefix=f"cg{ns}")
            gb.ensure_group("w", "g")
            ours = max(ours_cycle(hub.bus, n, batch) for _ in range(2))
            base_cs = max(contextsync_cycle(cs, n) for _ in range(2))
            base_gb = max(group_cycle(gb, n, batch) for _ in range(2))
            how = "acks per batch" if batch else "one ack per message"
            rows.append(
                row(
                    f"redis share+consume+ack ({how}) vs ContextSync",
                    ours,
                    base_cs,
                    "msg/s",
                    target=5.0,
                    note="ContextSync always acks per message (SETEX each)",
                )
            )
            rows.append(
                row(f"redis share+consume+ack ({how}) vs redis-py groups", ours, base_gb, "msg/s")
            )
            log(
                f"  throughput ({how}): ours {ours:,.0f}, ContextSync {base_cs:,.0f}, "
                f"groups {base_gb:,.0f} msg/s"
            )
            hub.clear()
            hub.close()
            r.delete(*(r.keys(f"bc{ns}*") or [b"x"]), *(r.keys(f"cg{ns}*") or [b"x"]))
        # batched shares: share_many against ContextSync as designed and pipelined XADDs
        ns = "b" + uuid.uuid4().hex[:8]
        hub = zerolag.open(url, namespace=ns)
        hub.bus.register("w")
        hub.bus.consume("w", group="g", consumer="c")
        cs = ContextSync(r, prefix=f"bc{ns}")
        gb = GroupBus(r, reader, prefix=f"cg{ns}")
        gb.ensure_group("w", "g")
        ours = max(ours_batched(hub.bus, n) for _ in range(2))
        base_cs = max(contextsync_cycle(cs, n) for _ in range(2))
        base_gb = max(group_batched(gb, n) for _ in range(2))
        rows.append(
            row(
                "redis share_many+consume+ack_many (batches of 100) vs ContextSync",
                ours,
                base_cs,
                "msg/s",
                target=5.0,
                note="ContextSync's design has no batch share: one XADD and one SETEX per message",
            )
        )
        rows.append(
            row(
                "redis share_many+consume+ack_many (batches of 100) vs redis-py groups pipelined",
                ours,
                base_gb,
                "msg/s",
                note="baseline: one pipeline of 100 XADDs, XREADGROUP 100, XACK+XDEL pipelined",
            )
        )
        log(
            f"  throughput (batched): ours {ours:,.0f}, ContextSync {base_cs:,.0f}, "
            f"groups pipelined {base_gb:,.0f} msg/s"
        )
        hub.clear()
        hub.close()
        r.delete(*(r.keys(f"bc{ns}*") or [b"x"]), *(r.keys(f"cg{ns}*") or [b"x"]))
        # publish-to-receive latency
        ns = "b" + uuid.uuid4().hex[:8]
        hub = zerolag.open(url, namespace=ns)
        hub.bus.register("w")
        hub.bus.consume("w", group="g", consumer="c")
        sender = zerolag.open(url, namespace=ns)

        def our_recv() -> list[int]:
            ds = hub.bus.consume("w", group="g", consumer="c", count=100, block_ms=1000)
            if ds:
                hub.bus.ack_many("w", ds, group="g", consumer="c")
            return [d.payload for d in ds]

        ours_l = latency(lambda s: sender.bus.share("p", "w", s), our_recv, nlat)
        gb = GroupBus(redis.Redis.from_url(url), reader, prefix=f"cg{ns}")
        gb.ensure_group("w", "g")

        def gb_recv() -> list[int]:
            ds = gb.consume("w", "g", "c", count=100, block_ms=1000)
            if ds:
                gb.ack("w", "g", [i for i, _ in ds])
            return [p for _, p in ds]

        gb_l = latency(lambda s: gb.share("p", "w", s), gb_recv, nlat)
        cs = ContextSync(redis.Redis.from_url(url), prefix=f"bc{ns}")
        cs_reader = ContextSync(redis.Redis.from_url(url), prefix=f"bc{ns}")

        def cs_recv() -> list[int]:
            ms = cs_reader.get_pending("w", 100)
            if not ms:
                time.sleep(0.001)  # ContextSync has no blocking read: poll every ms
            for m in ms:
                cs_reader.acknowledge(m["id"], "w")
            return [m["payload"] for m in ms]

        cs_l = latency(lambda s: cs.share("p", "w", s), cs_recv, nlat)
        rows.append(
            lat_row(
                "redis publish-to-receive vs redis-py XREADGROUP BLOCK",
                ours_l,
                gb_l,
                target_p99_us=5000,
            )
        )
        rows.append(lat_row("redis publish-to-receive vs ContextSync (1 ms polling)", ours_l, cs_l))
        log(
            f"  latency p50/p99 us: ours {_pct(ours_l, 0.5):.0f}/{_pct(ours_l, 0.99):.0f}, "
            f"groups {_pct(gb_l, 0.5):.0f}/{_pct(gb_l, 0.99):.0f}, "
            f"ContextSync {_pct(cs_l, 0.5):.0f}/{_pct(cs_l, 0.99):.0f}"
        )
        hub.clear()
        hub.close()
        sender.close()
        for k in r.keys(f"bc{ns}*") + r.keys(f"cg{ns}*"):
            r.delete(k)
    # embedded
    root = tempfile.mkdtemp(prefix="zerolag-bench-bus-")
    hub = zerolag.open(root=root, namespace="bench")
    hub.bus.register("w")
    hub.bus.consume("w", group="g", consumer="c")
    emb = max(ours_cycle(hub.bus, n, True) for _ in range(2))
    rows.append(row("embedded share+consume+ack (acks per batch)", emb, None, "msg/s"))
    p = subprocess.Popen([sys.executable, "-c", PRODUCER, root, "bench", str(nlat)])
    lat: list[float] = []
    while len(lat) < nlat:
        ds = hub.bus.consume("w", group="g", consumer="c", count=100, block_ms=1000)
        now = time.time_ns()
        lat.extend((now - d.payload) / 1000 for d in ds)
        if ds:
            hub.bus.ack_many("w", ds, group="g", consumer="c")
    p.wait()
    d = row("embedded cross-process publish-to-receive", _pct(lat, 0.99), None, "us p99")
    d["ours_p50_us"], d["ours_p99_us"] = _pct(lat, 0.5), _pct(lat, 0.99)
    rows.append(d)
    log(
        f"  embedded: {emb:,.0f} msg/s; "
        f"cross-process p50/p99 {_pct(lat, 0.5):.0f}/{_pct(lat, 0.99):.0f} us"
    )
    hub.close()
    return rows
