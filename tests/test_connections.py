"""Connecting: refused connections, wrong passwords and ACL users, a server that stops
answering, bad URLs, db indexes, unix sockets, TLS and cluster seeds. Real servers only."""

from __future__ import annotations

import builtins
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import (
    AsyncRunner,
    RedisServer,
    free_port,
    run_redis_cli,
)
from test_hub import make_tasks, message, open_and_use, search_ids

# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["redis", "cluster"])
def test_connection_refused(kind: str, tmp_path: Path) -> None:
    p1, p2 = free_port(), free_port()
    url = (
        f"redis://127.0.0.1:{p1}/0?connect_timeout=1&retries=0"
        if kind == "redis"
        else f"redis+cluster://127.0.0.1:{p1},127.0.0.1:{p2}?connect_timeout=1&retries=0"
    )
    start = time.monotonic()
    with pytest.raises(zerolag.ConnectionError) as ei:
        open_and_use(url, tmp_path)
    assert time.monotonic() - start < 60
    assert isinstance(ei.value, builtins.ConnectionError)
    assert isinstance(ei.value, zerolag.ZerolagError)
    assert str(p1) in str(ei.value)
    assert any(w in message(ei) for w in ("refused", "running", "reach")), str(ei.value)


def test_connection_refused_with_default_options(tmp_path: Path) -> None:
    port = free_port()
    start = time.monotonic()
    with pytest.raises(zerolag.ConnectionError):
        open_and_use(f"redis://127.0.0.1:{port}", tmp_path)
    assert time.monotonic() - start < 60


def test_wrong_password(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server(requirepass="s3cret")
    base = f"127.0.0.1:{server.port}/0?connect_timeout=1&retries=0"
    for url in (f"redis://:n0tIt@{base}", f"redis://{base}"):  # wrong, and none at all
        with pytest.raises(zerolag.AuthenticationError) as ei:
            open_and_use(url, tmp_path)
        assert isinstance(ei.value, PermissionError)
        assert "password" in message(ei), str(ei.value)
        assert "n0tIt" not in str(ei.value)  # never echo the secret
    h = zerolag.open(f"redis://:s3cret@{base}", root=tmp_path, namespace="auth")
    try:
        h.tasks.create("authed", id="a1", intent="auth")
        assert h.tasks.count() == 1
    finally:
        h.close()


def test_acl_users(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server(requirepass="admin")
    run_redis_cli(
        server.port,
        "ACL",
        "SETUSER",
        "alice",
        "on",
        ">alicepw",
        "~*",
        "&*",
        "+@all",
        password="admin",
    )
    run_redis_cli(
        server.port,
        "ACL",
        "SETUSER",
        "limited",
        "on",
        ">limpw",
        "~other:*",
        "&*",
        "+@all",
        password="admin",
    )
    base = f"127.0.0.1:{server.port}/0?connect_timeout=1&retries=0"
    for creds in ("alice:nottherightone", "bob:whatever"):
        with pytest.raises(zerolag.AuthenticationError) as ei:
            open_and_use(f"redis://{creds}@{base}", tmp_path)
        assert "password" in message(ei) or "user" in message(ei), str(ei.value)
        assert "nottherightone" not in str(ei.value)

    h = zerolag.open(f"redis://alice:alicepw@{base}", root=tmp_path, namespace="acl")
    try:
        h.tasks.create("as alice", id="u1", intent="auth")
        assert h.tasks.get("u1").title == "as alice"
        assert h.clear() >= 1
    finally:
        h.close()

    # A user without rights on the namespace's keys: a typed error naming the fix.
    with pytest.raises(zerolag.AuthenticationError) as ei:
        lim = zerolag.open(f"redis://limited:limpw@{base}", root=tmp_path, namespace="acl")
        try:
            lim.tasks.create("denied", id="u2", intent="auth")
        finally:
            lim.close()
    assert "acl" in message(ei) or "permission" in message(ei), str(ei.value)
    assert server.keys() == set()  # nothing was written


def test_paused_server_times_out_then_recovers(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server()
    url = f"redis://127.0.0.1:{server.port}/0?timeout=0.5&connect_timeout=0.5&retries=1"
    h = zerolag.open(url, root=tmp_path, namespace="pause")
    try:
        h.tasks.create("before pause", id="p1", intent="auth")
        server.pause()
        try:
            start = time.monotonic()
            with pytest.raises(zerolag.TimeoutError) as ei:
                h.health()
            assert time.monotonic() - start < 30
            assert isinstance(ei.value, builtins.TimeoutError)
            assert str(server.port) in str(ei.value)
            assert "timeout" in message(ei), str(ei.value)  # points at ?timeout=
        finally:
            server.resume()
        # the same hub works again, without reopening
        assert h.health().rtt_ms > 0
        assert h.tasks.get("p1").title == "before pause"
        h.tasks.create("after pause", id="p2", intent="auth")
        assert h.tasks.count() == 2
    finally:
        h.close()


def test_paused_server_times_out_async(
    make_redis_server: Any, tmp_path: Path, arun: AsyncRunner
) -> None:
    server = make_redis_server()
    url = f"redis://127.0.0.1:{server.port}/0?timeout=0.5&connect_timeout=0.5&retries=1"

    async def body() -> None:
        async with zerolag.open_async(url, root=tmp_path, namespace="pause") as h:
            await h.health()
            server.pause()
            try:
                with pytest.raises(zerolag.TimeoutError):
                    await h.health()
            finally:
                server.resume()
            assert (await h.health()).rtt_ms > 0

    arun(body())


BAD_URLS = [
    ("http://127.0.0.1:{p}/", "redis"),
    ("127.0.0.1:{p}", "redis://"),
    ("postgres://127.0.0.1:{p}/db", "scheme"),
    ("redis://127.0.0.1:{p}/0?timeout=abc", "timeout"),
    ("redis://127.0.0.1:{p}/0?timeout=-1", "timeout"),
    ("redis://127.0.0.1:{p}/0?timeout=0", "timeout"),
    ("redis://127.0.0.1:{p}/0?connect_timeout=soon", "connect_timeout"),
    ("redis://127.0.0.1:{p}/0?retries=lots", "retries"),
    ("redis://127.0.0.1:{p}/0?retries=-1", "retries"),
    ("redis://127.0.0.1:{p}/notadb", ("db", "database")),
    ("redis+cluster://", "cluster"),
    ("unix://?db=1", ("unix", "path")),
]


@pytest.mark.parametrize(("url", "word"), BAD_URLS, ids=[u for u, _ in BAD_URLS])
def test_bad_url_is_validation_error(url: str, word: str | tuple[str, ...], tmp_path: Path) -> None:
    # The port is free: a URL that got past validation would fail with ConnectionError instead.
    with pytest.raises(zerolag.ValidationError) as ei:
        open_and_use(url.format(p=free_port()), tmp_path)
    assert isinstance(ei.value, ValueError)
    words = (word,) if isinstance(word, str) else word
    assert any(w in message(ei) for w in words), str(ei.value)


def test_unknown_url_option_is_validation_error(tmp_path: Path) -> None:
    # A typo ("timout") silently ignored would leave the default 5 s timeout in force.
    with pytest.raises(zerolag.ValidationError) as ei:
        open_and_use(f"redis://127.0.0.1:{free_port()}/0?timout=1", tmp_path)
    assert "timout" in message(ei), str(ei.value)


# ------------------------------------------------------------------------------------------
# connection kinds: db index, unix socket, TLS, cluster seeds
# ------------------------------------------------------------------------------------------


def without_meta(keys: set[str]) -> set[str]:
    """The keys but namespaces' own meta keys (``zl:{<ns>:meta}:...``): data keys only."""
    return {k for k in keys if ":meta}:" not in k}


def test_db_index_isolates(redis_server: RedisServer, tmp_path: Path, namespace: str) -> None:
    base = f"redis://127.0.0.1:{redis_server.port}"
    with (
        zerolag.open(f"{base}/3", root=tmp_path, namespace=namespace) as db3,
        zerolag.open(f"{base}/0", root=tmp_path, namespace=namespace) as db0,
    ):
        try:
            make_tasks(db3, "three", ["d1"])
            assert db3.tasks.count() == 1
            assert db0.tasks.count() == 0
            with pytest.raises(zerolag.NotFoundError):
                db0.tasks.get("d1")
            assert db0.health().keys == 0
            in3 = without_meta(redis_server.keys(f"*{namespace}*", db=3))
            assert in3 and len(in3) == db3.health().keys
            assert without_meta(redis_server.keys(f"*{namespace}*", db=0)) == set()
        finally:
            db3.clear()
            db0.clear()
    assert redis_server.keys(f"*{namespace}*", db=3) == set()


def test_db_index_out_of_range(redis_server: RedisServer, tmp_path: Path) -> None:
    # The server has 16 databases; 99 is a bad URL for it, not a backend failure.
    with pytest.raises(zerolag.ValidationError) as ei:
        open_and_use(f"redis://127.0.0.1:{redis_server.port}/99", tmp_path)
    assert "99" in str(ei.value)


def test_unix_socket(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server(unixsocket=True)
    assert server.unixsocket and server.unixsocket.startswith("/")
    with (
        zerolag.open(f"unix://{server.unixsocket}", root=tmp_path, namespace="ux") as h,
        zerolag.open(f"unix://{server.unixsocket}?db=2", root=tmp_path, namespace="ux") as h2,
        zerolag.open(server.url, root=tmp_path, namespace="ux") as tcp,
    ):
        assert h.backend == "redis"
        assert h.health().server_version
        make_tasks(h, "unix", ["u1"])
        assert tcp.tasks.get("u1").title == "unix u1"  # same server, same db 0 over TCP
        assert h2.tasks.count() == 0  # db 2 is another database
        make_tasks(h2, "db2", ["u1", "u2"])
        assert h2.tasks.count() == 2 and h.tasks.count() == 1
        assert server.keys("*ux*", db=2) and server.keys("*ux*", db=0)


def test_tls_insecure(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server(tls=True)
    assert server.url == f"rediss://127.0.0.1:{server.port}/#insecure"
    with zerolag.open(server.url, root=tmp_path, namespace="tls") as h:
        assert h.backend == "redis"
        health = h.health()
        assert health.server_version and health.rtt_ms > 0
        make_tasks(h, "tls", ["s1", "s2"])
        assert h.tasks.count() == 2
        assert search_ids(h, intent="auth") == {"s1", "s2"}
        assert len(without_meta(server.keys("*tls*"))) == h.health().keys


def test_tls_self_signed_rejected_without_insecure(make_redis_server: Any, tmp_path: Path) -> None:
    server = make_redis_server(tls=True)
    url = f"rediss://127.0.0.1:{server.port}/0?connect_timeout=2&retries=0"
    with pytest.raises(zerolag.ConnectionError) as ei:
        open_and_use(url, tmp_path)
    assert "certificate" in message(ei) or "tls" in message(ei), str(ei.value)


def test_cluster_single_seed_and_cluster_option(
    redis_cluster: Any, tmp_path: Path, namespace: str
) -> None:
    full = zerolag.open(redis_cluster.url, root=tmp_path, namespace=namespace)
    try:
        make_tasks(full, "c", [f"c{i}" for i in range(20)])
        p2 = redis_cluster.ports[1]
        for url in (f"redis+cluster://127.0.0.1:{p2}", f"redis://127.0.0.1:{p2}/?cluster=1"):
            with zerolag.open(url, root=tmp_path, namespace=namespace) as one:
                assert one.backend == "redis-cluster"
                assert one.tasks.count() == 20
                assert one.tasks.get("c7").title == "c c7"
                assert one.health().keys == full.health().keys
    finally:
        full.clear()
        full.close()
