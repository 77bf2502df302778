"""A pytest plugin for testing code built on zerolag (loaded automatically once zerolag is
installed: the ``pytest11`` entry point).

Fixtures:

* ``zerolag_hub``: a :class:`zerolag.Hub` on a fresh store, closed (and its namespace cleared)
  after the test. The store comes from ``--zerolag-store``: ``memory`` (default: in this
  process's memory, no files, fastest), ``embedded`` (SQLite under the test's ``tmp_path``),
  or a store URL such as ``redis://localhost:6379/0`` (each test gets its own namespace);
  ``redis`` starts a throwaway ``redis-server`` for the session (see below).
* ``zerolag_redis_url``: the URL of a ``redis-server`` started for the test session on a free
  port (data in a temporary directory, stopped at the end); the test is skipped, saying why,
  when ``redis-server`` is not installed.
* ``zerolag_loop``: a :class:`zerolag.DualLoop` on ``zerolag_hub`` with the offline
  :class:`zerolag.llm.RuleBasedFrontend`; register handlers, ``send``, then
  :func:`run_backend` runs what was queued and returns.

Helpers: :func:`wait_for_event` (the first event on matching channels that satisfies a
predicate, or a failed assertion listing what did arrive), :func:`drain_jobs` (runs job
handlers until nothing is ready) and :func:`run_backend`.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from . import DualLoop, Hub
    from ._core import Event

__all__ = ["drain_jobs", "run_backend", "wait_for_event"]

_STORE_HELP = (
    "store for the zerolag_hub fixture: memory (default), embedded, redis (a throwaway "
    "redis-server), or a store URL"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zerolag")
    group.addoption("--zerolag-store", default=None, help=_STORE_HELP)
    parser.addini("zerolag_store", _STORE_HELP, default="memory")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def zerolag_redis_url() -> Iterator[str]:
    """A ``redis://`` URL of a ``redis-server`` started for this session (skips the test when
    ``redis-server`` is not on PATH)."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip(
            "redis-server is not installed (apt-get install redis-server, brew install redis)"
        )
    with tempfile.TemporaryDirectory(prefix="zerolag-redis-") as d:
        port = _free_port()
        proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                d,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while not _ping(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}", pytrace=False)
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.kill()
            proc.wait()


def _store(config: pytest.Config) -> str:
    return str(config.getoption("--zerolag-store") or config.getini("zerolag_store") or "memory")


@pytest.fixture
def zerolag_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """A hub on a fresh store (``--zerolag-store``), closed after the test."""
    import zerolag

    store = _store(request.config)
    namespace = "default"
    if store == "memory":
        url: str | None = "memory://"
    elif store == "embedded":
        url = None
    else:
        url = request.getfixturevalue("zerolag_redis_url") if store == "redis" else store
        namespace = "test-" + uuid.uuid4().hex[:12]
    hub = zerolag.open(url, root=tmp_path, namespace=namespace)
    try:
        yield hub
    finally:
        with contextlib.suppress(Exception):
            if url is not None and not url.startswith("memory://"):
                hub.clear()
        hub.close()


@pytest.fixture
def zerolag_loop(zerolag_hub: Hub) -> Iterator[DualLoop]:
    """A DualLoop on ``zerolag_hub`` with the offline rule-based frontend."""
    import zerolag
    from zerolag.llm import RuleBasedFrontend

    loop = zerolag.DualLoop(zerolag_hub, RuleBasedFrontend())
    try:
        yield loop
    finally:
        loop.stop()


def run_backend(loop: DualLoop, *, concurrency: int = 1) -> Any:
    """Runs the loop's handlers until no command is ready or running; returns the worker's
    stats."""
    return loop.run_backend(concurrency, burst=True)


def drain_jobs(
    hub: Hub, handlers: Mapping[str, Callable[..., Any]], *, concurrency: int = 1
) -> Any:
    """Runs ``handlers`` (``{kind: handler(ctx)}``) on ``hub.jobs`` until nothing is ready;
    returns the worker's stats."""
    return hub.jobs.worker(dict(handlers), concurrency=concurrency).run(burst=True)


def wait_for_event(
    hub: Hub,
    *patterns: str,
    where: Callable[[Event], bool] | None = None,
    timeout: float = 5.0,
    after: str | None = "0",
) -> Event:
    """The first event on a channel matching ``patterns`` (all if none) for which ``where``
    is true, from the oldest the log keeps (``after="0"``) or after an event id. Fails the
    test after ``timeout`` seconds, listing the events that came."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    sub = hub.events.subscribe(*patterns, after=after)
    try:
        while True:
            left = deadline - time.monotonic()
            ev = sub.get(timeout=max(left, 0.0)) if left > 0 else None
            if ev is None:
                came = "; ".join(seen[-10:]) or "none"
                raise AssertionError(
                    f"no event on {list(patterns) or 'any channel'} matched within "
                    f"{timeout:g} s (events that came: {came})"
                )
            if where is None or where(ev):
                return ev
            seen.append(f"{ev.channel} {ev.data!r}"[:200])
    finally:
        sub.close()


def pytest_report_header(config: pytest.Config) -> str:
    return f"zerolag: {_store(config)} store for zerolag_hub (--zerolag-store)"
