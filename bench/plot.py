"""Reads bench/results/*.json, writes docs/bench.png and prints a Markdown table.

    python bench/plot.py [--out docs/bench.png]

The chart has one horizontal bar per comparison: the ratio ours/baseline (for latency rows,
baseline/ours), so right of the 1x line means zerolag is better; targets are marked. Rows
without a ratio (informational) are left out of the chart but kept in the table. Without
matplotlib it prints how to install it and exits 0 (the table is still printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def load(results: Path) -> list[dict[str, Any]]:
    docs = []
    for p in sorted(results.glob("*.json")):
        try:
            docs.append(json.loads(p.read_text()))
        except (OSError, ValueError) as e:
            print(f"skipping {p}: {e}", file=sys.stderr)
    return docs


def _num(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, (int, float)):
        if unit.startswith("us") or abs(v) < 100:
            return f"{v:,.1f}"
        return f"{v:,.0f}"
    return str(v)


def markdown(docs: list[dict[str, Any]]) -> str:
    out = []
    for d in docs:
        m = d.get("machine", {})
        out.append(
            f"**{d.get('suite')}** — {d.get('when', '')}, {m.get('cpu_count')} CPUs, "
            f"Python {m.get('python')}, Redis {m.get('redis_version') or '–'}\n"
        )
        out.append(
            "| comparison | zerolag | baseline | unit | ratio | zerolag p50 / p99 µs "
            "| baseline p50 / p99 µs |"
        )
        out.append("|---|---:|---:|---|---:|---:|---:|")
        for r in d.get("rows", []):
            ratio = r.get("ratio")
            rs = f"**{ratio:.2f}×**" if isinstance(ratio, (int, float)) else "–"
            out.append(
                f"| {r.get('name')} | {_num(r.get('ours'), r.get('unit', ''))} | "
                f"{_num(r.get('baseline'), r.get('unit', ''))} | {r.get('unit', '')} | {rs} | "
                f"{_num(r.get('ours_p50_us'), 'us')} / {_num(r.get('ours_p99_us'), 'us')} | "
                f"{_num(r.get('baseline_p50_us'), 'us')} / {_num(r.get('baseline_p99_us'), 'us')} |"
            )
        out.append("")
    return "\n".join(out)


def plot(docs: list[dict[str, Any]], out: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, NullFormatter
    except ImportError:
        print("matplotlib is not installed; `pip install matplotlib` to draw docs/bench.png")
        return False
    rows = [
        (f"{d.get('suite')}: {r['name']}", float(r["ratio"]), r.get("target"))
        for d in docs
        for r in d.get("rows", [])
        if isinstance(r.get("ratio"), (int, float)) and r["ratio"] > 0
    ]
    if not rows:
        print("no rows with a ratio in bench/results/; run `python bench/run.py` first")
        return False
    rows.reverse()  # first row on top
    fig, ax = plt.subplots(figsize=(11, 0.38 * len(rows) + 1.4))
    ys = range(len(rows))
    colors = []
    for _, ratio, target in rows:
        if target is not None and ratio < target:
            colors.append("#d98c1f")
        elif ratio >= 1:
            colors.append("#2f7ebc")
        else:
            colors.append("#b0b0b0")
    ax.barh(list(ys), [r for _, r, _ in rows], color=colors)
    for y, (_, ratio, target) in zip(ys, rows, strict=True):
        near = target is not None and ratio <= target <= ratio * 1.25
        x = (target if near else ratio) * 1.04  # keep the label clear of the target tick
        ax.text(x, y, f"{ratio:.2f}×", va="center", fontsize=8)
        if target is not None:
            ax.plot([target, target], [y - 0.4, y + 0.4], color="black", lw=1.5)
    ax.axvline(1.0, color="crimson", lw=1, ls="--")
    lo = min([r for _, r, _ in rows] + [0.5]) / 1.5
    hi = max([r for _, r, _ in rows] + [t or 1 for _, _, t in rows]) * 1.8

    ax.set_yticks(list(ys))
    ax.set_yticklabels([n for n, _, _ in rows], fontsize=8)
    ax.set_xscale("log")
    ax.set_xticks([x for x in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if lo <= x <= hi])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}×"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(lo, hi)
    ax.set_xlabel(
        "ratio, log scale: × better than the baseline (rows 'vs server floor': "
        "floor latency / ours; scale's 'spread' rows: even share / busiest master's share)"
        "\ndashed line = 1×, black tick = target, orange = below its target"
    )
    ax.set_title("zerolag vs baselines")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}", file=sys.stderr)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "bench.png")
    args = ap.parse_args(argv)
    docs = load(args.results)
    if not docs:
        print(f"no results in {args.results}; run `python bench/run.py` first")
        return 0
    print(markdown(docs))
    plot(docs, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
