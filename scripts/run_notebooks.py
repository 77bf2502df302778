"""Executes every notebook under the given directories (in a scratch working directory) and
fails on the first cell that raises."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(dirs: list[str]) -> int:
    books = sorted(p for d in dirs for p in Path(d).glob("*.ipynb"))
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
        print(f"notebook {book}: {len(nb.cells)} cells ran in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["notebooks"]))
