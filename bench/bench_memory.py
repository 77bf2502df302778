"""Memory retrieval: vector top-10 with ``zerolag._core.VectorIndex`` (exact, and int8 with
exact re-ranking) against numpy (``argpartition`` over a matrix product, same process), on
random float32 data, cosine. Also: recall@10 of the quantised mode against exact, and the
index's memory per row. Random data is the hard case for quantisation (the best scores are
close together).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline_memory import numpy_topk  # noqa: E402
from zerolag._core import VectorIndex  # noqa: E402

# For bench/run.py (see bench/README.md).
NEEDS_REDIS = False
ORDER = 70

K = 10
DIM = 384


def _latencies(fn: Callable[[int], Any], queries: int) -> list[float]:
    """Seconds per call of ``fn(i)`` for ``queries`` calls after a warm-up."""
    for i in range(min(5, queries)):
        fn(i)
    out = []
    for i in range(queries):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1e6


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """bench/run.py's entry point: no Redis (``url`` is unused)."""
    n = 10_000 if quick else 100_000
    queries = 50 if quick else 300
    rng = np.random.default_rng(16)
    data = rng.standard_normal((n, DIM), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    qs = rng.standard_normal((queries, DIM), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    ids = np.arange(n, dtype=np.int64)

    t0 = time.perf_counter()
    exact = VectorIndex(DIM, "cosine")
    exact.add(ids, data)
    build_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    quant = VectorIndex(DIM, "cosine", quantized=True)
    quant.add(ids, data)
    build_quant = time.perf_counter() - t0
    log(f"memory: built {n:,} x {DIM} in {build_exact:.2f} s (exact), {build_quant:.2f} s (int8)")

    base = _latencies(lambda i: numpy_topk(data, qs[i], K), queries)
    ours_exact = _latencies(lambda i: exact.search(qs[i], K), queries)
    ours_quant = _latencies(lambda i: quant.search(qs[i], K), queries)

    agree_np = 0
    found = 0
    for i in range(queries):
        truth = set(numpy_topk(data, qs[i], K).tolist())
        agree_np += len(truth & set(exact.search(qs[i], K)[0].tolist()))
        found += len(truth & set(quant.search(qs[i], K)[0].tolist()))
    recall = found / (queries * K)
    base_p50 = _pct(base, 50)
    rows: list[dict[str, Any]] = []
    for name, lat, target, note in [
        (
            "exact",
            ours_exact,
            1.0,
            f"agrees with numpy on {100 * agree_np / (queries * K):.1f}% of the top-10",
        ),
        (
            "int8 + exact re-rank",
            ours_quant,
            3.0,
            f"recall@10 {recall:.3f} against exact (target >= 0.95)",
        ),
    ]:
        p50, p99 = _pct(lat, 50), _pct(lat, 99)
        rows.append(
            {
                "name": f"vector top-{K} over {n:,} x {DIM} f32, cosine, {name}",
                "ours": round(p50, 1),
                "baseline": round(base_p50, 1),
                "unit": "µs",
                "ratio": round(base_p50 / p50, 2),
                "ours_p50_us": round(p50, 1),
                "ours_p99_us": round(p99, 1),
                "baseline_p50_us": round(base_p50, 1),
                "baseline_p99_us": round(_pct(base, 99), 1),
                "target": target,
                "note": f"baseline: numpy argpartition over matrix @ query; {note}",
            }
        )
    rows.append(
        {
            "name": f"vector index memory per row ({DIM}-d, int8 copy included)",
            "ours": round(quant.memory_bytes() / n, 1),
            "baseline": round(data.nbytes / n, 1),
            "unit": "bytes",
            "ratio": round(data.nbytes / quant.memory_bytes(), 2),
            "note": "baseline: the bare float32 matrix numpy searches; lower is better",
        }
    )
    rows.append(
        {
            "name": f"quantised recall@{K} against exact ({queries} queries)",
            "ours": round(recall, 3),
            "baseline": 1.0,
            "unit": "recall",
            "ratio": round(recall, 3),
            "target": 0.95,
            "note": "exact search is the reference (1.0)",
        }
    )
    return rows


if __name__ == "__main__":
    for r in run(None, quick="--quick" in sys.argv):
        print(r)
