"""Executes every notebook under the given directories (in a scratch working directory) and
fails on the first cell that raises.

    python scripts/run_notebooks.py [DIR ...]            # what `make test` runs: checks only
    python scripts/run_notebooks.py --write [DIR|FILE ...]  # also saves the outputs

The notebooks are committed with the outputs of a real run (`--write`), so readers on a code
host see results; `make test` executes them in memory and leaves the files as they are.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="*", default=["notebooks"], help="directories or notebooks")
    ap.add_argument("--write", action="store_true", help="save the outputs into the notebooks")
    args = ap.parse_args(argv)
    paths = [Path(d) for d in args.dirs]
    books = sorted(q for p in paths for q in ([p] if p.is_file() else p.glob("*.ipynb")))
    if not books:
        print("no notebooks found", file=sys.stderr)
        return 1
    for book in books:
        nb = nbformat.read(book, as_version=4)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as cwd:
            NotebookClient(
                nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}}
            ).execute()
        if args.write:
            nb.metadata.pop("widgets", None)
            nbformat.write(nb, book)
        print(f"notebook {book}: {len(nb.cells)} cells ran in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
