"""MCP rows of the `frameworks` suite (bench/bench_frameworks.py calls :func:`run`): the round
trip of one tool call to ``zerolag mcp`` over stdio, p50/p99, from the SDK's client in this
process to a real server subprocess on the same store (report; beside it, the same operation
straight on the hub, the floor without the protocol).

The tool is ``tasks_get`` of a task that exists: the smallest read, so the row is the cost of
the MCP round trip itself (JSON-RPC over a pipe, the SDK's validation on both sides, the
worker thread the server runs sync tools on).
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

import zerolag
from mcp import Client, StdioServerParameters


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def _stdio_calls(args: list[str], n: int, warm: int) -> list[float]:
    """µs per ``tasks_get`` call over stdio, ``n`` calls one after another."""
    params = StdioServerParameters(command=sys.executable, args=args)
    out: list[float] = []
    async with Client(params) as client:
        for i in range(warm + n):
            t0 = time.perf_counter_ns()
            r = await client.call_tool("tasks_get", {"id": "bench"})
            dt = (time.perf_counter_ns() - t0) / 1000
            if r.is_error:
                raise RuntimeError(f"tasks_get failed: {r.content}")
            if i >= warm:
                out.append(dt)
    return out


def _direct(hub: zerolag.Hub, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        hub.tasks.get("bench")
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def _row(label: str, ours: list[float], base: list[float], note: str) -> dict[str, Any]:
    p50, b50 = _pct(ours, 0.5), _pct(base, 0.5)
    return {
        "name": f"MCP tool call round trip over stdio [{label}] (report; baseline: the same "
        "call straight on the hub)",
        "ours": p50,
        "baseline": b50,
        "ratio": b50 / p50,
        "unit": "us p50",
        "ours_p50_us": p50,
        "ours_p99_us": _pct(ours, 0.99),
        "baseline_p50_us": b50,
        "baseline_p99_us": _pct(base, 0.99),
        "note": note,
    }


def _measure(
    url: str | None, root: Path, label: str, n: int, log: Callable[[str], None]
) -> dict[str, Any]:
    ns = "mcp" + uuid.uuid4().hex[:8]
    with zerolag.open(url, root=root, namespace=ns) as hub:
        hub.tasks.create("the benchmark's task", id="bench", intent="bench", keywords=["mcp"])
        args = ["-m", "zerolag", "mcp", "--root", str(root), "--namespace", ns, "--no-sync"]
        if url:
            args[3:3] = ["--url", url]
        calls = asyncio.run(_stdio_calls(args, n, warm=min(50, n)))
        direct = _direct(hub, n)
        hub.clear()
    log(
        f"  mcp stdio [{label}]: p50 {_pct(calls, 0.5):.0f} us, p99 {_pct(calls, 0.99):.0f} us "
        f"(hub.tasks.get: {_pct(direct, 0.5):.1f} us)"
    )
    return _row(label, calls, direct, f"tasks_get, {n} calls one after another")


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    n = 300 if quick else 3000
    with tempfile.TemporaryDirectory() as tmp:
        rows = [_measure(None, Path(tmp), "embedded", n, log)]
        if url:
            rows.append(_measure(url, Path(tmp), "redis", n, log))
    return rows


if __name__ == "__main__":
    import json

    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else None, quick=True), indent=1))
