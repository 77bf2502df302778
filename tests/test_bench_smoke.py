"""The benchmark code itself still runs (quick sizes, its own redis-server). No timing is
asserted here: this only proves `make bench` has not rotted. One case per suite, found the way
bench/run.py finds them: every bench/bench_<name>.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITES = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))


@pytest.mark.parametrize("suite", SUITES)
def test_quick_benchmark_runs_and_writes_results(suite: str) -> None:
    result = ROOT / "bench" / "results" / "quick" / f"{suite}.json"
    result.unlink(missing_ok=True)  # what is checked below is this run's, not an earlier one's
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--suite", suite],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    data = json.loads(result.read_text())
    assert data["suite"] == suite and data["rows"]
    for row in data["rows"]:
        assert {"name", "ours", "unit"} <= row.keys(), row
        # Rows measured against a baseline carry the ratio; ours-only rows may not.
        if row.get("baseline") and row.get("ours"):
            assert isinstance(row.get("ratio"), (int, float)) and row["ratio"] > 0, row
    assert any(row.get("baseline") for row in data["rows"]), f"{suite}: no comparison"


def test_the_lua_gc_measure_runs() -> None:
    """bench/lua_gc.py (run alone, not a suite) prints one row per number of other scripts
    loaded, with a Lua heap that grows as they do."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "lua_gc.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    rows = [line.split() for line in out.stdout.splitlines()[1:] if line.strip()]
    assert [int(r[0]) for r in rows] == [0, 4, 8, 16, 32], out.stdout
    heaps = [int(r[1]) for r in rows]
    assert heaps == sorted(heaps) and heaps[-1] > heaps[0], out.stdout
