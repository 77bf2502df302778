"""Prints the package's own dependencies and the extras named of pyproject.toml's
[project.optional-dependencies], one requirement a line.

    python scripts/extra_requirements.py dev [bench ...] > requirements.txt

The Makefile installs the development tools (and `make bench` its plotting libraries) from
this list, so pyproject.toml is the one place they are named. The package's dependencies
come with them, so that `make lint` (mypy reads the stubs, which import numpy) works before
the first build. The package itself is not installed from here: `maturin develop` builds it.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the Makefile installs tomli first
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(extra: str) -> list[str]:
    doc = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    extras: dict[str, list[str]] = doc["project"].get("optional-dependencies", {})
    if extra not in extras:
        raise SystemExit(f"pyproject.toml has no extra {extra!r} (it has: {', '.join(extras)})")
    return list(extras[extra])


def main(argv: list[str]) -> int:
    if not argv:
        raise SystemExit("usage: extra_requirements.py EXTRA [EXTRA ...]")
    doc = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    own: list[str] = doc["project"].get("dependencies", [])
    print("\n".join([*own, *(r for extra in argv for r in requirements(extra))]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
