"""The abi3 decision: the same hot calls timed under two builds of the extension.

    python bench/abi3_compare.py --site A=/path/site-a --site B=/path/site-b [--rounds 5]
        [--redis-url URL]

Build the two with ``maturin build --release -o DIR`` and ``maturin build --release
--features python,pyo3/abi3-py310 -o DIR``; each ``--site`` is a directory where one of the
wheels was installed with ``pip install --no-deps --target DIR``. Every round runs each build
in a fresh interpreter (taking turns, so machine noise hits both alike) and records the
median time per call of each hot path; the report is the median over rounds and the ratio of
the second build to the first (> 1: the second is slower).
Without ``--redis-url`` only the in-process and embedded rows run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LINES = [
    "tc:User Authentication System|business_growth|high",
    "ts:auto|0.3|Complex multi-component system",
    "wf:project_planning|{name:'MyApp',scope:'web,mobile'}",
    "ms:user_preference|{theme:'dark'}|semantic",
    "cl:conversation_2024_06_01|full",
]
REPLY = (
    "Sure, I'll set that up right away!\n"
    "[Generating: tc:User Authentication System|business_growth|high]\n"
    "You'll see progress shortly."
)
META = {"owner": "ana", "tags": ["a", "b", "c"], "limits": {"rps": 10, "burst": 20}, "n": 1.5}


def _per_call_ns(fn: Callable[[], Any], calls: int, repeat: int = 7) -> float:
    """Median over ``repeat`` timed loops of ``calls`` calls, in ns per call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter_ns() - t0) / calls)
    return statistics.median(times)


def measure(redis_url: str | None) -> dict[str, float]:
    import asyncio

    import zerolag
    from zerolag import protocol

    out: dict[str, float] = {}
    line = LINES[0]
    out["protocol.decode_command"] = _per_call_ns(lambda: protocol.decode_command(line), 20_000)
    out["protocol.decode_many (6 lines)"] = _per_call_ns(lambda: protocol.decode_many(LINES), 5_000)
    out["protocol.extract"] = _per_call_ns(lambda: protocol.extract(REPLY), 5_000)
    out["decode + to_dict"] = _per_call_ns(lambda: protocol.decode_command(line).to_dict(), 10_000)
    with tempfile.TemporaryDirectory() as root, zerolag.open(root=root) as hub:
        t = hub.tasks.create("Auth", intent="auth", keywords=["jwt", "login"], metadata=META)
        out["embedded tasks.get"] = _per_call_ns(lambda: hub.tasks.get(t.id), 5_000)
        out["embedded task.metadata (JSON -> Python)"] = _per_call_ns(
            lambda: hub.tasks.get(t.id).metadata, 5_000
        )
        out["embedded tasks.create"] = _per_call_ns(
            lambda: hub.tasks.create("x", intent="auth", metadata=META), 1_000, repeat=3
        )
        out["embedded events.publish"] = _per_call_ns(
            lambda: hub.events.publish("ch", META), 2_000, repeat=3
        )
    if redis_url:
        with zerolag.open(redis_url, namespace="abi3") as hub:
            hub.clear()
            t = hub.tasks.create("Auth", intent="auth", keywords=["jwt"], metadata=META)
            out["redis tasks.get"] = _per_call_ns(lambda: hub.tasks.get(t.id), 3_000)
            out["redis jobs.enqueue"] = _per_call_ns(
                lambda: hub.jobs.enqueue("k", META), 2_000, repeat=3
            )
            hub.clear()

        async def aget(n: int) -> float:
            async with await zerolag.open_async(redis_url, namespace="abi3") as ah:
                at = await ah.tasks.create("Auth", intent="auth")
                for _ in range(200):
                    await ah.tasks.get(at.id)
                samples = []
                for _ in range(n):
                    t0 = time.perf_counter_ns()
                    await ah.tasks.get(at.id)
                    samples.append(time.perf_counter_ns() - t0)
                await ah.clear()
                return statistics.median(samples)

        out["redis await tasks.get"] = asyncio.run(aget(3_000))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--site", action="append", required=True, help="NAME=DIR")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--redis-url")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(measure(a.redis_url)))
        return
    sites = [s.split("=", 1) for s in a.site]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in sites}
    for r in range(a.rounds):
        order = sites if r % 2 == 0 else list(reversed(sites))
        for name, site in order:
            env = dict(os.environ, PYTHONPATH=site)
            cmd = [sys.executable, __file__, "--child", "--site", a.site[0]]
            if a.redis_url:
                cmd += ["--redis-url", a.redis_url]
            res = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if res.returncode:
                raise SystemExit(f"{name} failed:\n{res.stderr}")
            runs[name].append(json.loads(res.stdout.strip().splitlines()[-1]))
    (first, _), (second, _) = sites[0], sites[1]
    rows = []
    print(f"{'hot path':42} {first + ' ns':>12} {second + ' ns':>12} {'ratio':>7}")
    for key in runs[first][0]:
        a_ns = statistics.median(x[key] for x in runs[first])
        b_ns = statistics.median(x[key] for x in runs[second])
        rows.append({"name": key, first: a_ns, second: b_ns, "ratio": b_ns / a_ns})
        print(f"{key:42} {a_ns:12,.0f} {b_ns:12,.0f} {b_ns / a_ns:7.3f}")
    if a.out:
        a.out.write_text(
            json.dumps(
                {
                    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "load": os.getloadavg(),
                    "rows": rows,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
