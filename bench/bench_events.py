"""``hub.events`` against what a Python developer would otherwise write (baseline_events.py):
publish throughput, and publish-to-receive latency with the reader in another process.

``run(url, quick=False, log=print)`` returns rows for bench/run.py. Latency is measured with
``time.monotonic_ns()`` (one clock for every process on Linux): the publisher puts its send
time in the event, the reader process subtracts it on receipt and reports the figures.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baseline_events  # noqa: E402
import zerolag  # noqa: E402

# For bench/run.py (see bench/README.md): whether run() needs a Redis URL, and where
# a run of all suites runs this one (ascending).
NEEDS_REDIS = True
ORDER = 30

READER = """
import json, sys, time
sys.path.insert(0, sys.argv[5])
impl, target, ns, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if impl == "ours":
    import zerolag
    hub = zerolag.open(target if "://" in target else None, root=target, namespace=ns)
    events = (( e.channel, e.data) for e in hub.events.subscribe("bench"))
elif impl == "redis-py":
    import baseline_events
    events = baseline_events.RedisLog(target, ns).subscribe()
else:
    import baseline_events
    from pathlib import Path
    events = baseline_events.SqliteLog(Path(target)).subscribe()
print("ready", flush=True)
lat = []
for _channel, data in events:
    lat.append((time.monotonic_ns() - data["t"]) / 1e3)
    if len(lat) == n:
        break
print(json.dumps(lat), flush=True)
"""


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def _latency(impl: str, target: str, ns: str, n: int, publish: Callable[[Any], Any]) -> list[float]:
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, impl, target, ns, str(n), str(HERE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{impl} reader did not start")
        time.sleep(0.3)  # let it reach its first wait
        for i in range(n):
            publish({"t": time.monotonic_ns(), "i": i})
            time.sleep(0.001)
        out = proc.stdout.readline()
        proc.wait(timeout=30)
        return [float(x) for x in json.loads(out)]
    finally:
        proc.kill()


def _rate(fn: Callable[[int], Any], n: int) -> tuple[float, list[float]]:
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        lat.append((time.perf_counter() - t) * 1e6)
    return n / (time.perf_counter() - t0), lat


def _rows(
    label: str, ours: Any, base: Any, target: str, n_pub: int, n_lat: int
) -> list[dict[str, Any]]:
    rows = []
    data = {"path": "contexts/agents/dev/backend_tasks.yaml", "hash": "9f2c1e", "size": 1834}
    ours_rate, ours_lat = _rate(lambda i: ours.events.publish("file:changed", data), n_pub)
    base_rate, base_lat = _rate(lambda i: base.publish("file:changed", data), n_pub)
    rows.append(
        {
            "name": f"publish, sequential [{label}]",
            "ours": round(ours_rate),
            "baseline": round(base_rate),
            "unit": "ops/s",
            "ratio": round(ours_rate / base_rate, 2),
            "ours_p50_us": round(statistics.median(ours_lat), 1),
            "ours_p99_us": round(_pct(ours_lat, 99), 1),
            "baseline_p50_us": round(statistics.median(base_lat), 1),
            "baseline_p99_us": round(_pct(base_lat, 99), 1),
        }
    )
    ns = ours.namespace
    impl = "redis-py" if label == "redis" else "sqlite3"
    ol = _latency("ours", target, ns, n_lat, lambda d: ours.events.publish("bench", d))
    bl = _latency(impl, target, ns, n_lat, lambda d: base.publish("bench", d))
    how = "XREAD BLOCK loop" if label == "redis" else "sqlite3 polling every 1 ms"
    rows.append(
        {
            "name": f"publish -> receive in another process [{label}]",
            "ours": round(_pct(ol, 99), 1),
            "baseline": round(_pct(bl, 99), 1),
            "unit": "us p99",
            "ratio": round(_pct(bl, 99) / _pct(ol, 99), 2),
            "ours_p50_us": round(statistics.median(ol), 1),
            "ours_p99_us": round(_pct(ol, 99), 1),
            "baseline_p50_us": round(statistics.median(bl), 1),
            "baseline_p99_us": round(_pct(bl, 99), 1),
            "note": f"{n_lat} events 1 ms apart; baseline reader: {how}",
        }
    )
    return rows


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    n_pub, n_lat = (500, 200) if quick else (5_000, 2_000)
    rows: list[dict[str, Any]] = []
    ns = "bench-events-" + uuid.uuid4().hex[:8]
    if url:
        log("  events on redis")
        ours = zerolag.open(url, namespace=ns)
        base = baseline_events.RedisLog(url, ns)
        try:
            rows += _rows("redis", ours, base, url, n_pub, n_lat)
        finally:
            ours.clear()
            ours.close()
            base.close()
    log("  events on embedded")
    with tempfile.TemporaryDirectory(prefix="zl-bench-events-") as d:
        ours = zerolag.open(root=d, namespace=ns)
        base_emb = baseline_events.SqliteLog(Path(d))
        try:
            rows += _rows("embedded", ours, base_emb, d, n_pub, n_lat)
        finally:
            ours.close()
            base_emb.close()
    return rows


if __name__ == "__main__":
    for r in run(sys.argv[1] if len(sys.argv) > 1 else None, quick="--quick" in sys.argv):
        print(r)
