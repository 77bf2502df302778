"""Shared pytest fixtures: every test runs against real stores.

Backends (the ``backend`` fixture, ids the same):

* ``embedded``: SQLite under ``<tmp_path>/.zerolag/``; no server.
* ``redis``:    one ``redis-server`` on a free port, started once per session on first use.
* ``cluster``:  a 3-master Redis Cluster on free ports, started once per session on first use.

Servers start lazily (``pytest -k embedded`` starts none) and are stopped at the end of the
session (SIGTERM, then SIGKILL), their temp dirs removed. Tests get a fresh namespace each, so
the shared servers need no flushing between tests.

Fixtures:

* ``backend``: the parameter; ``store_url``: its URL (None for embedded), ``store_servers``: the
  redis-server processes behind it (to look at raw keys).
* ``hub``: ``zerolag.open(store_url, root=tmp_path, namespace=<unique>)``, cleared and closed
  after; ``namespace``: that unique name; ``open_hub(namespace=..., url=..., root=...)``: more
  handles on the same store, cleared and closed after.
* ``arun``: runs async code on a per-test event loop (plain asyncio, no plugin);
  ``async_hub``: ``await zerolag.open_async(...)`` on that loop.
* ``redis_server`` / ``redis_url``, ``redis_cluster`` / ``cluster_url``: the session servers.
* ``make_redis_server(tls=False, unixsocket=False, **config)``: a throwaway server of the test's
  own (auth, unix socket, TLS, ``.pause()``/``.resume()`` by SIGSTOP/SIGCONT).
* ``run_redis_cli(port, *args, password=..., user=..., tls=...)``, ``free_port()``,
  ``unique_namespace()``: plain helpers (``from conftest import ...``; servers live in
  ``servers.py``).

PostgreSQL (the archive tests; servers live in ``pg.py``):

* ``pg_server``: a PostgreSQL server of this pytest process (each xdist worker has its own, so
  an outage one worker makes touches nobody else), started on first use, stopped at the end.
* ``pg_dsn``: a fresh database on it for the test (dropped after): the archive's DSN.
* ``make_pg_server()``: a throwaway server of the test's own (``.stop()``/``.start()`` for
  outages, ``.dsn(db)``, ``.create_db()``), removed after the test.

Needs ``redis-server``, ``redis-cli`` and (for TLS) ``openssl`` on PATH:
``scripts/ensure-redis.sh`` installs them; and PostgreSQL's server binaries for the archive
tests: ``scripts/ensure-postgres.sh``.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import (  # noqa: F401 - re-exported for the tests
    CLUSTER_TIMEOUT,
    HOST,
    MISSING_REDIS,
    START_TIMEOUT,
    RedisCluster,
    RedisServer,
    _kill_leftovers,
    _tmpdir,
    free_port,
    make_tls_certs,
    pytest_unconfigure,
    redis_cli_bin,
    redis_server_bin,
    run_redis_cli,
)

BACKENDS = ["embedded", "redis", "cluster"]

# A shell without job control starts background commands with SIGINT ignored, and an ignored
# signal stays ignored across exec: the CLI processes these tests stop with SIGINT would then
# never see it (`make test &` in a script hung every `events tail` test for 60 s). Handled
# here, it is reset to the default in every child.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# --------------------------------------------------------------------------------------------
# Session servers (lazy)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The shared standalone server (started on first use)."""
    server = RedisServer(prefix="zl-standalone-")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    """``redis://127.0.0.1:P/0`` of the shared standalone server."""
    return redis_server.url


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """The shared 3-master cluster (started on first use)."""
    cluster = RedisCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """This process's PostgreSQL server (started on first use; per xdist worker)."""
    import pg

    try:
        server = pg.PgServer(prefix="zl-pg-session-")
    except pg.PgMissing as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def pg_dsn(pg_server: Any) -> Iterator[str]:
    """A fresh database on ``pg_server`` for this test, dropped after: its DSN."""
    if not pg_server.running:  # an earlier test left it stopped: bring it back
        pg_server.start()
    db = pg_server.create_db()
    try:
        yield pg_server.dsn(db)
    finally:
        pg_server.drop_db(db)


@pytest.fixture
def make_pg_server() -> Iterator[Callable[..., Any]]:
    """Factory for throwaway PostgreSQL servers (``make_pg_server(**config)``), removed after
    the test: for outages (``.stop()``, ``.start()``) that must not touch other tests."""
    import pg

    servers: list[Any] = []

    def factory(**config: Any) -> Any:
        try:
            s = pg.PgServer(config=config, prefix="zl-pg-extra-")
        except pg.PgMissing as e:
            pytest.fail(str(e), pytrace=False)
        servers.append(s)
        return s

    try:
        yield factory
    finally:
        for s in servers:
            s.destroy()


@pytest.fixture(scope="session")
def cluster_url(redis_cluster: RedisCluster) -> str:
    """``redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3``."""
    return redis_cluster.url


# --------------------------------------------------------------------------------------------
# Per-test fixtures
# --------------------------------------------------------------------------------------------


def data_keys(servers: list[Any], ns: str) -> set[str]:
    """Every Redis key of namespace ``ns`` on ``servers``, but the namespace's own meta keys
    (``zl:{<ns>:meta}:...``, e.g. its layout version): the keys its capabilities wrote."""
    meta = f"zl:{{{ns}:meta}}:"
    return {k for s in servers for k in s.keys(f"zl:{{{ns}:*") if not k.startswith(meta)}


def command_calls(node: Any, command: str) -> int:
    """How many times ``command`` (lower case) ran on the server ``node`` and succeeded (INFO
    commandstats: calls less failed and rejected ones, such as an EVALSHA answered NOSCRIPT
    on a server that had not loaded the script yet)."""
    for line in str(node.command("INFO", "commandstats")).splitlines():
        if line.startswith(f"cmdstat_{command}:"):
            f = dict(kv.split("=") for kv in line.split(":", 1)[1].split(","))
            return int(f["calls"]) - int(f.get("failed_calls", 0)) - int(f.get("rejected_calls", 0))
    return 0


def unique_namespace(prefix: str = "t") -> str:
    return prefix + uuid.uuid4().hex[:12]


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``"embedded"``, ``"redis"`` or ``"cluster"``."""
    return str(request.param)


# A backend name a partitioned capability's test module adds to its own ``backend`` fixture's
# params: the 3-master cluster with namespaces opened with ``partitions=4`` (docs/scaling.md).
PARTITIONED = "cluster-p4"
PARTITIONED_BACKENDS = [*BACKENDS, PARTITIONED]
# Every backend with ``partitions=4``, for the modules that test what partitions mean (the
# embedded store and a single server spread nothing but keep the same promises).
EVERY_PARTITIONED = [*PARTITIONED_BACKENDS, "embedded-p4", "redis-p4"]


@pytest.fixture
def partitions(backend: str) -> int | None:
    """The ``partitions=`` this test's hubs are opened with (None: the namespace's own)."""
    return 4 if backend.endswith("-p4") else None


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """The URL for this test's backend (None for embedded); starts the server on demand."""
    if backend in ("embedded", "embedded-p4"):
        return None
    if backend in ("redis", "redis-p4"):
        return str(request.getfixturevalue("redis_url"))
    if backend in ("cluster", PARTITIONED):
        return str(request.getfixturevalue("cluster_url"))
    raise ValueError(backend)


@pytest.fixture
def store_servers(backend: str, request: pytest.FixtureRequest) -> list[RedisServer]:
    """The redis-server processes behind this test's backend (empty for embedded), for
    looking at raw keys: ``[s.keys() for s in store_servers]``."""
    if backend in ("redis", "redis-p4"):
        return [request.getfixturevalue("redis_server")]
    if backend in ("cluster", PARTITIONED):
        return list(request.getfixturevalue("redis_cluster").nodes)
    return []


@pytest.fixture
def namespace() -> str:
    """A namespace nobody else uses: ``"t" + 12 hex digits``."""
    return unique_namespace()


def _dispose(hub: Any) -> None:
    if not hub.closed:
        try:
            hub.clear()
        finally:
            hub.close()


@pytest.fixture
def hub(
    store_url: str | None, tmp_path: Path, namespace: str, partitions: int | None
) -> Iterator[Any]:
    """``zerolag.open(store_url, root=tmp_path, namespace=<unique>, partitions=…)``; cleared
    and closed after."""
    import zerolag

    h = zerolag.open(store_url, root=tmp_path, namespace=namespace, partitions=partitions)
    try:
        yield h
    finally:
        _dispose(h)


_DEFAULT = object()


@pytest.fixture
def open_hub(
    store_url: str | None, tmp_path: Path, namespace: str, partitions: int | None
) -> Iterator[Callable[..., Any]]:
    """Factory: ``open_hub(namespace=<same as hub>, url=<backend's>, root=tmp_path)``.

    Opens another handle on the test's store (same namespace as ``hub`` unless told
    otherwise). Every hub it opened is cleared and closed after the test.
    """
    import zerolag

    opened: list[Any] = []

    def factory(namespace: str | None = None, *, url: Any = _DEFAULT, root: Any = _DEFAULT) -> Any:
        h = zerolag.open(
            store_url if url is _DEFAULT else url,
            root=tmp_path if root is _DEFAULT else root,
            namespace=namespace_default if namespace is None else namespace,
            partitions=partitions,
        )
        opened.append(h)
        return h

    namespace_default = namespace
    try:
        yield factory
    finally:
        errors = []
        for h in opened:
            try:
                _dispose(h)
            except Exception as e:  # keep closing the others
                errors.append(e)
        if errors:
            raise errors[0]


class AsyncRunner:
    """Runs async code on one event loop that lives as long as the test.

    ``arun(coro)`` runs a coroutine; ``arun(fn, *args, **kw)`` calls ``fn`` *inside* the loop
    and awaits what it returns, for awaitables that need a running loop when created (as
    futures made by pyo3-async-runtimes do): ``arun(hub.tasks.get, "t1")``.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __call__(self, fn: Any, *args: Any, **kw: Any) -> Any:
        if asyncio.iscoroutine(fn):
            coro = fn
        else:

            async def call() -> Any:
                return await fn(*args, **kw)

            coro = call()
        return self.loop.run_until_complete(asyncio.wait_for(coro, 120.0))

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


@pytest.fixture
def arun() -> Iterator[AsyncRunner]:
    """``arun(coro)`` / ``arun(fn, *args, **kw)`` on the test's event loop (plain asyncio)."""
    runner = AsyncRunner()
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture
def async_hub(
    store_url: str | None,
    tmp_path: Path,
    namespace: str,
    arun: AsyncRunner,
    partitions: int | None,
) -> Iterator[Any]:
    """``await zerolag.open_async(...)`` on ``arun``'s loop; use ``arun(async_hub.x, ...)``."""
    import zerolag

    h = arun(_open_async(zerolag, store_url, tmp_path, namespace, partitions))
    try:
        yield h
    finally:
        if not h.closed:
            try:
                arun(h.clear)
            finally:
                arun(h.close)


async def _open_async(
    zerolag: Any, url: str | None, root: Path, namespace: str, partitions: int | None = None
) -> Any:
    return await zerolag.open_async(url, root=root, namespace=namespace, partitions=partitions)


@pytest.fixture
def make_redis_server() -> Iterator[Callable[..., RedisServer]]:
    """Factory for throwaway standalone servers, stopped after the test.

    ``make_redis_server(tls=False, unixsocket=False, **config)``: ``config`` keys become
    ``redis-server --key value`` (underscores to dashes, bools to yes/no), e.g.
    ``requirepass="s3cret"``. The result has ``.port .url .pid .unixsocket .stop() .pause()
    .resume() .command(*args)``.
    """
    servers: list[RedisServer] = []

    def factory(*, tls: bool = False, unixsocket: bool = False, **config: Any) -> RedisServer:
        s = RedisServer(config=config, tls=tls, unixsocket=unixsocket, prefix="zl-extra-")
        servers.append(s)
        return s

    try:
        yield factory
    finally:
        for s in servers:
            s.stop()
