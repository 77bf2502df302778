"""LangChain's standard test suites (``langchain-tests``) against zerolag, on every backend.

The async suites need pytest-asyncio in *auto* mode, which must not change how the rest of
the suite runs, so these tests run in a pytest invocation of their own (``make test`` does):

    .venv/bin/python -m pytest -q -p no:cacheprovider -o asyncio_mode=auto \
        tests/langchain_suites

Collected any other way (``pytest tests``, strict mode) this directory is skipped whole. The
fixtures of ``tests/conftest.py`` (backends, servers, ``hub``) apply here as everywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _auto(config: pytest.Config) -> bool:
    try:
        return str(config.getini("asyncio_mode")) == "auto"
    except ValueError:  # pytest-asyncio is not installed
        return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.is_relative_to(HERE) and collection_path != HERE and not _auto(config):
        return True
    return None
