"""The backends every jobs test module runs on: those of every test, the 3-master cluster with
namespaces opened with ``partitions=4`` (``cluster-p4``), and the embedded store with
``partitions=4`` (``embedded-p4``: one file, so nothing spreads, but jobs have the same
partitions, routing and pinning as on Redis; docs/scaling.md "Jobs").

A jobs test module imports these fixtures, which override conftest's of the same names:
``from jobs_backends import backend, partitions, store_servers, store_url  # noqa: F401``."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PARTITIONED, PARTITIONED_BACKENDS

EMBEDDED_PARTITIONED = "embedded-p4"
JOBS_BACKENDS = [*PARTITIONED_BACKENDS, EMBEDDED_PARTITIONED]


@pytest.fixture(params=JOBS_BACKENDS, ids=JOBS_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``"embedded"``, ``"redis"``, ``"cluster"``, ``"cluster-p4"`` or ``"embedded-p4"``."""
    return str(request.param)


@pytest.fixture
def partitions(backend: str) -> int | None:
    """4 on the partitioned backends, else None (the namespace's own count)."""
    return 4 if backend in (PARTITIONED, EMBEDDED_PARTITIONED) else None


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """The URL of this test's backend (None for the embedded ones)."""
    if backend in ("embedded", EMBEDDED_PARTITIONED):
        return None
    if backend == "redis":
        return str(request.getfixturevalue("redis_url"))
    return str(request.getfixturevalue("cluster_url"))


@pytest.fixture
def store_servers(backend: str, request: pytest.FixtureRequest) -> list[Any]:
    """The redis-server processes behind this test's backend (empty for the embedded ones)."""
    if backend == "redis":
        return [request.getfixturevalue("redis_server")]
    if backend in ("cluster", PARTITIONED):
        return list(request.getfixturevalue("redis_cluster").nodes)
    return []
