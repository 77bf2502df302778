"""Prints one extra of pyproject.toml's [project.optional-dependencies], one requirement a line.

    python scripts/extra_requirements.py dev > requirements.txt

The Makefile installs the development tools (and `make bench` its plotting libraries) from
this list, so pyproject.toml is the one place they are named. The package itself is not
installed from here: `maturin develop` builds it.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the Makefile installs tomli first
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(extra: str) -> list[str]:
    doc = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    extras: dict[str, list[str]] = doc["project"].get("optional-dependencies", {})
    if extra not in extras:
        raise SystemExit(f"pyproject.toml has no extra {extra!r} (it has: {', '.join(extras)})")
    return list(extras[extra])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        raise SystemExit("usage: extra_requirements.py EXTRA")
    print("\n".join(requirements(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
