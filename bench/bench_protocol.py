"""Decoding coded commands: zerolag (Rust) vs a pure-Python regex decoder.

Run ``python bench/bench_protocol.py [n]`` for a table; ``measure(n)`` returns the rows as dicts
(``name``, ``ours``, ``baseline``, ``unit``, ``ratio``); ``run`` is bench/run.py's entry point.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline_protocol as baseline  # noqa: E402
from zerolag import protocol  # noqa: E402

# For bench/run.py (see bench/README.md): whether run() needs a Redis URL, and where
# a run of all suites runs this one (ascending).
NEEDS_REDIS = False
ORDER = 20

# A realistic mix of what a frontend model emits.
LINES = [
    "tc:User Authentication System|business_growth|high",
    "ts:auto|0.3|Complex multi-component system",
    "wf:project_planning|{name:'MyApp',scope:'web,mobile'}",
    "ms:user_preference|{theme:'dark'}|semantic",
    "cl:conversation_2024_06_01|full",
    "tc:Fix login redirect on Safari|bug_fix|0.35",
    "wf:release|{version:'1.4.2',targets:['pypi','docker'],dry_run:false,retries:3}",
    "ms:last_error|Timeout talking to billing API \\| retried twice|episodic",
]


def _ops_per_s(fn: Callable[[], Any], ops: int, min_time: float = 0.3) -> float:
    """Best of a few timed runs of ``fn`` (which performs ``ops`` operations)."""
    fn()  # warm up
    best = float("inf")
    total = 0.0
    while total < min_time or best == float("inf"):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        total += dt
    return ops / best


def _check_same() -> None:
    ours = [m.to_dict() for m in protocol.decode_many(LINES)]
    theirs = baseline.decode_many(LINES)
    assert ours == theirs, (ours, theirs)


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """bench/run.py's entry point: no Redis, nothing to log; 10,000 lines with --quick."""
    return measure(10_000 if quick else 100_000)


def measure(n: int = 100_000) -> list[dict[str, Any]]:
    _check_same()
    lines = (LINES * (n // len(LINES) + 1))[:n]
    rows = []

    def row(name: str, ours: float, base: float) -> None:
        rows.append(
            {"name": name, "ours": ours, "baseline": base, "unit": "ops/s", "ratio": ours / base}
        )

    base_batch = _ops_per_s(lambda: baseline.decode_many(lines), n)
    row(
        "decode_many (typed objects)",
        _ops_per_s(lambda: protocol.decode_many(lines), n),
        base_batch,
    )
    row(
        "decode_many + to_dict",
        _ops_per_s(lambda: [m.to_dict() for m in protocol.decode_many(lines)], n),
        base_batch,
    )
    dc = protocol.decode_command
    bd = baseline.decode_command
    row(
        "decode_command per line",
        _ops_per_s(lambda: [dc(x) for x in lines], n),
        _ops_per_s(lambda: [bd(x) for x in lines], n),
    )
    reply = (
        "Sure, I'll set that up right away!\n"
        "[Generating: tc:User Authentication System|business_growth|high]\n"
        "[Initiating: wf:project_planning|{name:'MyApp',scope:'web,mobile'}]\n"
        "You'll see progress shortly."
    )
    k = max(n // 10, 1)
    row(
        "extract from a reply",
        _ops_per_s(lambda: [protocol.extract(reply) for _ in range(k)], k),
        _ops_per_s(lambda: [_baseline_extract(reply) for _ in range(k)], k),
    )
    m = max(n // 10, 100)
    noisy = (
        "Here is the plan. " * (1_000_000 // 18)
        + "\n"
        + "\n".join(f"[Generating: tc:Task {i}|feature|sure]" for i in range(m))
    )
    x = protocol.extract(noisy)
    assert len(x.errors) == m and len(_baseline_extract_tolerant(noisy)[1]) == m
    rows.append(
        {
            "name": f"extract: 1 MB of prose then {m:,} malformed commands",
            "ours": _ops_per_s(lambda: protocol.extract(noisy), m, min_time=0.1),
            "baseline": _ops_per_s(lambda: _baseline_extract_tolerant(noisy), m, min_time=0.1),
            "unit": "errors/s",
        }
    )
    rows[-1]["ratio"] = rows[-1]["ours"] / rows[-1]["baseline"]
    return rows


_BRACKET = re.compile(r"\[(?:[A-Za-z][A-Za-z _-]*:\s*)?((?:tc|ts|wf|cl|ms):[^\n]*?)\]\s*$", re.M)


def _baseline_extract(reply: str) -> tuple[list[dict[str, Any]], str]:
    found = [baseline.decode_command(m.group(1)) for m in _BRACKET.finditer(reply)]
    return found, _BRACKET.sub("", reply)


def _baseline_extract_tolerant(reply: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The regex extractor, keeping a reply's malformed commands as errors instead of raising."""
    found, errors = [], []
    line, at = 1, 0
    for m in _BRACKET.finditer(reply):
        try:
            found.append(baseline.decode_command(m.group(1)))
        except (baseline.ParseError, ValueError) as e:
            line += reply.count("\n", at, m.start())
            at = m.start()
            errors.append(f"line {line}: {e}")
    return found, errors


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rows = measure(n)
    print(f"{'benchmark':32} {'zerolag ops/s':>15} {'python ops/s':>15} {'ratio':>8}")
    for r in rows:
        print(f"{r['name']:32} {r['ours']:15,.0f} {r['baseline']:15,.0f} {r['ratio']:7.1f}x")


if __name__ == "__main__":
    main()
