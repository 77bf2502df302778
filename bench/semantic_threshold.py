"""Precision and recall of semantic cache hits by similarity threshold, on a paraphrase set.

Each line of the set (default ``bench/data/paraphrases.jsonl``) is a pair of prompts,
``{"a": ..., "b": ..., "same": true|false}``: ``same`` pairs ask the same thing in other words
(a hit is right), the others are hard negatives that share most of their words but ask
something else (a hit serves a wrong answer). A pair counts as a hit at threshold ``t`` when
the cosine similarity of the two embeddings is at least ``t``, as ``hub.cache.match`` decides.

    .venv/bin/python bench/semantic_threshold.py                      # HashingEmbedder (offline)
    .venv/bin/python bench/semantic_threshold.py --openai text-embedding-3-small \\
        [--base-url http://localhost:8000/v1]                         # any OpenAI-compatible API
    .venv/bin/python bench/semantic_threshold.py --sentence-transformers all-MiniLM-L6-v2

Prints a Markdown table (threshold, precision, recall, F1, wrong hits) and, with ``--json``,
the similarities per pair. No timing: the figures do not depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_SET = HERE / "data" / "paraphrases.jsonl"
THRESHOLDS = [0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]


def embedder(args: argparse.Namespace) -> Any:
    if args.openai:
        from zerolag.embed import OpenAIEmbeddings

        kw = {"base_url": args.base_url} if args.base_url else {}
        return OpenAIEmbeddings(args.openai, **kw)
    if args.sentence_transformers:
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

        model = SentenceTransformer(args.sentence_transformers)
        return lambda texts: model.encode(list(texts), normalize_embeddings=True)
    from zerolag.embed import HashingEmbedder

    return HashingEmbedder(args.dim)


def measure(pairs: list[dict[str, Any]], embed: Any) -> np.ndarray:
    """Cosine similarity of each pair's two prompts (as the semantic cache embeds them: the
    text with outer whitespace trimmed)."""
    a = np.asarray(embed([p["a"].strip() for p in pairs]), dtype=np.float64)
    b = np.asarray(embed([p["b"].strip() for p in pairs]), dtype=np.float64)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    return np.einsum("ij,ij->i", a, b)


def table(sims: np.ndarray, same: np.ndarray) -> list[dict[str, float]]:
    rows = []
    for t in THRESHOLDS:
        hit = sims >= t
        tp = int(np.sum(hit & same))
        fp = int(np.sum(hit & ~same))
        fn = int(np.sum(~hit & same))
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows.append({"threshold": t, "precision": p, "recall": r, "f1": f1, "wrong_hits": fp})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", type=Path, default=DEFAULT_SET, help="the paraphrase set (JSONL)")
    ap.add_argument("--dim", type=int, default=384, help="HashingEmbedder dimension")
    ap.add_argument("--openai", metavar="MODEL", help="an OpenAI-compatible embedding model")
    ap.add_argument("--base-url", help="its endpoint (default: $OPENAI_BASE_URL or OpenAI)")
    ap.add_argument("--sentence-transformers", metavar="MODEL", help="a local model")
    ap.add_argument("--json", action="store_true", help="print the similarities as JSON too")
    args = ap.parse_args(argv)
    pairs = [json.loads(line) for line in args.set.read_text().splitlines() if line.strip()]
    same = np.array([bool(p["same"]) for p in pairs])
    sims = measure(pairs, embedder(args))
    print(f"{len(pairs)} pairs: {int(same.sum())} paraphrases, {int((~same).sum())} hard negatives")
    print(
        f"similarity: paraphrases median {np.median(sims[same]):.3f}, "
        f"hard negatives median {np.median(sims[~same]):.3f}\n"
    )
    print("| threshold | precision | recall | F1 | wrong hits |")
    print("|---:|---:|---:|---:|---:|")
    for r in table(sims, same):
        print(
            f"| {r['threshold']:.2f} | {r['precision']:.2f} | {r['recall']:.2f} "
            f"| {r['f1']:.2f} | {int(r['wrong_hits'])} |"
        )
    if args.json:
        print(
            json.dumps(
                [{**p, "similarity": float(s)} for p, s in zip(pairs, sims, strict=True)], indent=1
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
