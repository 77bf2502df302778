"""Anonymisation throughput: ``zerolag.Anonymizer`` (Rust) against detect-secrets scanning
the same text line by line with its default plugins (what a Python developer would use to
find secrets; it only finds them, redacting would cost more on top).

The text: generated (never real) secrets in code, YAML, JSON and log lines
(tests/anonymize_corpus.py) mixed with the Python standard library's own source as ordinary
code. Also reported: the share of ordinary-code lines each tool flags (false positives; our
e-mail and IP rules flag author addresses on purpose) and the share of generated secrets
each one catches. detect-secrets is run the way its CLI and pre-commit hook run it:
SecretsCollection.scan_file over files holding the same text.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import zerolag  # noqa: E402
from anonymize_corpus import ordinary_code, secret_corpus  # noqa: E402

# For bench/run.py (see bench/README.md): whether run() needs a Redis URL, and where
# a run of all suites runs this one (ascending).
NEEDS_REDIS = False
ORDER = 60


def _best(fn: Callable[[], Any], min_time: float = 0.5) -> float:
    fn()
    best, total = float("inf"), 0.0
    while total < min_time or best == float("inf"):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total = min(best, dt), total + dt
    return best


def _ds_scan(paths: list[Path]) -> dict[str, set[int]]:
    """detect-secrets over files, the way its CLI and pre-commit hook scan: flagged lines."""
    from detect_secrets import SecretsCollection

    found = SecretsCollection()
    for p in paths:
        found.scan_file(str(p))
    return {f: {s.line_number for s in v} for f, v in found.data.items()}


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """bench/run.py's entry point: no Redis (``url`` is unused), nothing to log."""
    from detect_secrets.settings import default_settings

    docs, secrets = secret_corpus(0, n=20 if quick else 100)
    code = ordinary_code(200_000 if quick else 2_000_000)
    texts = docs + code
    mb = sum(len(t.encode()) for t in texts) / 1e6
    a = zerolag.Anonymizer()
    ours_s = _best(lambda: [a.anonymize(t) for t in texts])
    code_lines = [line for t in code for line in t.splitlines()]
    ours_fp = sum(1 for line in code_lines if a.scan(line))
    redacted = "\n".join(a.anonymize(d) for d in docs)
    ours_caught = sum(1 for s in secrets if s not in redacted)
    with tempfile.TemporaryDirectory(prefix="zl-bench-anon-") as tmp:
        exts = [".py", ".yaml", ".json", ".log"]
        doc_paths = [Path(tmp) / f"doc{i}{exts[i % 4]}" for i in range(len(docs))]
        code_paths = [Path(tmp) / f"code{i}.py" for i in range(len(code))]
        for p, t in zip(doc_paths + code_paths, texts, strict=True):
            p.write_text(t)
        with default_settings():
            base_s = _best(lambda: _ds_scan(doc_paths + code_paths), min_time=0.1)
            flagged = _ds_scan(doc_paths + code_paths)
        ds_fp = sum(len(flagged.get(str(p), ())) for p in code_paths)
        ds_caught = 0
        for s in secrets:
            for p, t in zip(doc_paths, docs, strict=True):
                lines = flagged.get(str(p), set())
                if any(s in line for n, line in enumerate(t.splitlines(), 1) if n in lines):
                    ds_caught += 1
                    break
    n_code = len(code_lines)
    return [
        {
            "name": f"anonymise {mb:.1f} MB of code, YAML, JSON and logs",
            "ours": round(mb / ours_s, 1),
            "baseline": round(mb / base_s, 2),
            "unit": "MB/s",
            "ratio": round(base_s / ours_s, 1),
            "note": "baseline: detect-secrets 1.5 SecretsCollection.scan_file over the same "
            "text in files, default plugins and filters (finds only; ours finds and replaces)",
        },
        {
            "name": f"ordinary stdlib code lines flagged (of {n_code:,})",
            "ours": round(100 * ours_fp / n_code, 3),
            "baseline": round(100 * ds_fp / n_code, 3),
            "unit": "% lines",
            "ratio": round(ds_fp / ours_fp, 2) if ours_fp else None,
            "note": "lower is better; ours includes e-mail addresses and IPs (personal data, "
            "redacted on purpose)",
        },
        {
            "name": f"generated secrets caught (of {len(secrets):,})",
            "ours": round(100 * ours_caught / len(secrets), 1),
            "baseline": round(100 * ds_caught / len(secrets), 1),
            "unit": "% secrets",
            "ratio": round(ours_caught / ds_caught, 2) if ds_caught else None,
            "note": "detect-secrets does not look for e-mail, IP addresses or home paths",
        },
    ]


if __name__ == "__main__":
    for r in run(None, quick="--quick" in sys.argv):
        print(r)
