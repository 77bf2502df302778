"""The hub: opening and closing, health, namespaces, shared stores, errors, connection kinds.

Runs against real stores: embedded SQLite in tmp dirs, the session's redis-server and Redis
Cluster, and throwaway servers for auth, unix sockets, TLS and a paused (SIGSTOP) server.
"""

from __future__ import annotations

import asyncio
import builtins
import subprocess
import sys
import textwrap
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
    unique_namespace,
)

EXPECTED_BACKEND = {"embedded": "embedded", "redis": "redis", "cluster": "redis-cluster"}


def make_tasks(hub: Any, label: str, ids: list[str]) -> None:
    for i in ids:
        hub.tasks.create(
            f"{label} {i}", id=i, intent="auth", keywords=["jwt", label], confidence=0.8
        )


def search_ids(hub: Any, **query: Any) -> set[str]:
    page = hub.tasks.search(**query)
    return {t.id for t in page.tasks}


def message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    return str(excinfo.value).lower()


def open_and_use(url: str, root: Path, **kw: Any) -> None:
    """Opens a hub and makes one round trip, so an error shows whether it is raised by open()
    (preferred) or by the first use."""
    h = zerolag.open(url, root=root, namespace=kw.pop("namespace", "default"), **kw)
    try:
        h.health()
    finally:
        h.close()


# ------------------------------------------------------------------------------------------
# open / close / context managers
# ------------------------------------------------------------------------------------------


def test_open_reports_backend_and_namespace(hub: Any, backend: str, namespace: str) -> None:
    assert hub.backend == EXPECTED_BACKEND[backend]
    assert hub.namespace == namespace
    assert hub.closed is False


def test_close_marks_closed_and_is_idempotent(open_hub: Any) -> None:
    h = open_hub()
    assert h.closed is False
    h.close()
    assert h.closed is True
    h.close()  # a second close is harmless
    assert h.closed is True


def test_closed_hub_raises_closed_error(open_hub: Any) -> None:
    h = open_hub()
    h.tasks.create("before close", id="c1", intent="auth")
    h.close()
    calls = [
        lambda: h.health(),
        lambda: h.clear(),
        lambda: h.tasks.count(),
        lambda: h.tasks.get("c1"),
        lambda: h.tasks.create("after close", id="c2", intent="auth"),
        lambda: h.tasks.search(intent="auth"),
    ]
    for call in calls:
        with pytest.raises(zerolag.ClosedError) as ei:
            call()
        assert isinstance(ei.value, zerolag.ZerolagError)
        assert "closed" in message(ei)
    open_hub()  # a live handle on the namespace, so the fixture clears what c1 left


def test_context_manager_closes(store_url: str | None, tmp_path: Path, namespace: str) -> None:
    with zerolag.open(store_url, root=tmp_path, namespace=namespace) as h:
        assert h.closed is False
        h.tasks.create("inside", id="cm1", intent="auth")
        assert h.tasks.count() == 1
    assert h.closed is True
    with pytest.raises(zerolag.ClosedError):
        h.health()
    # The data outlives the handle.
    with zerolag.open(store_url, root=tmp_path, namespace=namespace) as h2:
        assert h2.tasks.get("cm1").title == "inside"
        h2.clear()


def test_context_manager_closes_on_error(
    store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    with pytest.raises(KeyError, match="boom"):
        with zerolag.open(store_url, root=tmp_path, namespace=namespace) as h:
            raise KeyError("boom")  # the hub must not swallow it
    assert h.closed is True


def test_async_context_manager(
    store_url: str | None, tmp_path: Path, namespace: str, arun: AsyncRunner, backend: str
) -> None:
    async def body() -> Any:
        async with zerolag.open_async(store_url, root=tmp_path, namespace=namespace) as h:
            assert h.closed is False
            assert h.backend == EXPECTED_BACKEND[backend]
            assert h.namespace == namespace
            health = await h.health()
            assert health.rtt_ms > 0
            t = await h.tasks.create("async task", id="a1", intent="auth", keywords=["jwt"])
            assert t.id == "a1"
            assert await h.tasks.count() == 1
            assert (await h.tasks.get("a1")).title == "async task"
            assert await h.clear() >= 1
        assert h.closed is True
        with pytest.raises(zerolag.ClosedError):
            await h.health()
        return h

    arun(body())


def test_async_methods_can_be_created_before_the_loop_runs(
    store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    # "same methods as coroutines": like an `async def`, calling one must not need a running
    # loop yet, so `asyncio.run(hub.health())` works.
    h = asyncio.run(_open(store_url, tmp_path, namespace))
    try:
        assert asyncio.run(h.health()).keys == 0
        asyncio.run(h.tasks.create("lazy", id="l1", intent="auth"))
        assert asyncio.run(h.tasks.count()) == 1
        asyncio.run(h.clear())
    finally:
        asyncio.run(h.close())
    assert h.closed is True


async def _open(url: str | None, root: Path, namespace: str) -> Any:
    return await zerolag.open_async(url, root=root, namespace=namespace)


def test_await_open_async_then_close(
    store_url: str | None, tmp_path: Path, namespace: str, arun: AsyncRunner
) -> None:
    async def body() -> None:
        h = await zerolag.open_async(store_url, root=tmp_path, namespace=namespace)
        await h.tasks.create("x", id="x1", intent="auth")
        assert await h.tasks.count() == 1
        assert await h.clear() >= 1
        await h.close()
        assert h.closed is True
        with pytest.raises(zerolag.ClosedError):
            await h.tasks.count()

    arun(body())


def test_async_and_sync_handles_share_data(async_hub: Any, hub: Any, arun: AsyncRunner) -> None:
    arun(async_hub.tasks.create, "from async", id="s1", intent="auth")
    assert hub.tasks.get("s1").title == "from async"
    hub.tasks.create("from sync", id="s2", intent="auth")
    assert arun(async_hub.tasks.count) == 2
    assert arun(async_hub.tasks.get, "s2").title == "from sync"


# ------------------------------------------------------------------------------------------
# health / clear
# ------------------------------------------------------------------------------------------


def test_health_fields(hub: Any, backend: str, namespace: str) -> None:
    h = hub.health()
    assert h.backend == EXPECTED_BACKEND[backend]
    assert h.namespace == namespace
    assert isinstance(h.server_version, str) and h.server_version
    if backend == "embedded":  # "3.50.4" or "SQLite 3.50.4"
        assert h.server_version.removeprefix("SQLite ").startswith("3."), h.server_version
    else:
        major = (
            subprocess.run(
                ["redis-server", "--version"], capture_output=True, text=True, check=True
            )
            .stdout.split("v=")[1]
            .split(".")[0]
        )
        assert h.server_version.split(".")[0] == major, h.server_version  # "7.0.15"
    assert isinstance(h.rtt_ms, float)
    assert 0 < h.rtt_ms < 5000
    assert isinstance(h.keys, int) and h.keys == 0  # fresh namespace
    assert "Health" in repr(h)


def test_health_keys_grow_and_clear_empties(hub: Any) -> None:
    assert hub.health().keys == 0
    make_tasks(hub, "a", ["k1", "k2", "k3"])
    keys = hub.health().keys
    assert keys >= 3
    make_tasks(hub, "a", ["k4"])
    assert hub.health().keys > keys
    before = hub.health().keys
    removed = hub.clear()
    assert isinstance(removed, int)
    assert removed == before
    assert hub.health().keys == 0
    assert hub.tasks.count() == 0
    with pytest.raises(zerolag.NotFoundError):
        hub.tasks.get("k1")
    assert hub.clear() == 0  # nothing left to remove


def test_health_async(async_hub: Any, arun: AsyncRunner, backend: str) -> None:
    h = arun(async_hub.health)
    assert h.backend == EXPECTED_BACKEND[backend]
    assert h.server_version and h.rtt_ms > 0 and h.keys == 0
    arun(async_hub.tasks.create, "t", id="h1", intent="auth")
    assert arun(async_hub.health).keys > 0


def test_get_missing_task_is_not_found(hub: Any) -> None:
    with pytest.raises(zerolag.NotFoundError) as ei:
        hub.tasks.get("nope")
    assert isinstance(ei.value, LookupError)
    assert "nope" in str(ei.value)


# ------------------------------------------------------------------------------------------
# namespaces
# ------------------------------------------------------------------------------------------


def test_namespaces_are_isolated(hub: Any, open_hub: Any) -> None:
    other = open_hub(unique_namespace("o"))
    make_tasks(hub, "mine", ["t1", "t2"])
    make_tasks(other, "theirs", ["t1", "t2", "t3"])

    assert hub.tasks.get("t1").title == "mine t1"
    assert other.tasks.get("t1").title == "theirs t1"
    with pytest.raises(zerolag.NotFoundError):
        hub.tasks.get("t3")
    assert hub.tasks.count() == 2
    assert other.tasks.count() == 3
    mine = hub.tasks.search(intent="auth").tasks
    assert {t.id for t in mine} == {"t1", "t2"}
    assert all(t.title.startswith("mine") for t in mine)
    assert search_ids(other, intent="auth") == {"t1", "t2", "t3"}
    keys_mine, keys_other = hub.health().keys, other.health().keys
    assert 0 < keys_mine < keys_other

    assert hub.clear() == keys_mine
    assert hub.tasks.count() == 0
    assert search_ids(hub, intent="auth") == set()
    assert hub.health().keys == 0
    # the other namespace is untouched
    assert other.tasks.count() == 3
    assert other.tasks.get("t1").title == "theirs t1"
    assert search_ids(other, intent="auth") == {"t1", "t2", "t3"}
    assert other.health().keys == keys_other


def test_namespace_that_extends_another_is_isolated(hub: Any, open_hub: Any) -> None:
    # "tabc" vs "tabcx": a SCAN MATCH "tabc*" or LIKE 'tabc%' would leak across.
    longer = open_hub(hub.namespace + "x")
    make_tasks(hub, "short", ["p1"])
    make_tasks(longer, "long", ["p1", "p2"])
    assert hub.tasks.count() == 1
    assert hub.health().keys < longer.health().keys
    keys_longer = longer.health().keys
    hub.clear()
    assert longer.tasks.count() == 2
    assert longer.health().keys == keys_longer
    longer.clear()
    assert hub.tasks.count() == 0


@pytest.mark.parametrize("backend", ["redis", "cluster"])
def test_redis_keys_carry_the_namespace_and_clear_leaves_foreign_keys(
    hub: Any, backend: str, store_servers: list[RedisServer], namespace: str
) -> None:
    foreign = "foreign:{zz}:untouched"
    owner = _owner(store_servers, foreign)
    owner.command("SET", foreign, "1")
    try:
        before = set().union(*(s.keys() for s in store_servers))
        make_tasks(hub, "k", ["r1", "r2"])
        after = set().union(*(s.keys() for s in store_servers))
        new = after - before
        assert new, "creating tasks wrote no key"
        for key in new:
            # the namespace opens the key's hash tag: "{ns:...}" / "{ns}", so one namespace's
            # keys can share slots and never collide with another's
            tag = key[key.index("{") + 1 : key.index("}")] if "{" in key and "}" in key else ""
            assert tag == namespace or tag.startswith(namespace + ":"), key
        assert hub.health().keys == len(new)
        assert hub.clear() == len(new)
        left = set().union(*(s.keys() for s in store_servers))
        assert left & new == set()
        assert owner.command("GET", foreign) == "1"
    finally:
        owner.command("DEL", foreign)


def _owner(servers: list[RedisServer], key: str) -> RedisServer:
    """The server that holds ``key`` (the only one, outside a cluster)."""
    if len(servers) == 1:
        return servers[0]
    slot = servers[0].command("CLUSTER", "KEYSLOT", key)
    for start, end, master, *_ in servers[0].command("CLUSTER", "SLOTS"):
        if int(start) <= slot <= int(end):
            return next(s for s in servers if s.port == int(master[1]))
    raise AssertionError(f"no node serves slot {slot}")


@pytest.mark.parametrize(
    "bad",
    ["", "a b", "*", "a:b", "a?b", "a[b]", "{a}", "..", ".hidden", "a/b", "tab\t", "x" * 300],
    ids=lambda s: repr(s)[:12],
)
def test_invalid_namespace_is_validation_error(
    bad: str, store_url: str | None, tmp_path: Path
) -> None:
    with pytest.raises(zerolag.ValidationError) as ei:
        zerolag.open(store_url, root=tmp_path, namespace=bad)
    assert isinstance(ei.value, ValueError)
    assert "namespace" in message(ei)


def test_invalid_namespace_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(zerolag.ValidationError):
        zerolag.open(None, root=tmp_path, namespace="a b")
    assert list(tmp_path.iterdir()) == []


def test_valid_unusual_namespaces(open_hub: Any) -> None:
    for ns in ["A-b_c.1", "x" * 64]:
        h = open_hub(ns)
        h.tasks.create("ok", id="v1", intent="auth")
        assert h.tasks.count() == 1


def test_embedded_store_lives_under_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    with zerolag.open(root=str(a), namespace="r") as ha, zerolag.open(root=b, namespace="r") as hb:
        assert ha.backend == "embedded"
        ha.tasks.create("in a", id="r1", intent="auth")
        assert (a / ".zerolag").is_dir() and any((a / ".zerolag").iterdir())
        assert hb.tasks.count() == 0  # another root is another store
        with pytest.raises(zerolag.NotFoundError):
            hb.tasks.get("r1")
    monkeypatch.chdir(a)  # root defaults to "."
    with zerolag.open(namespace="r") as here:
        assert here.tasks.get("r1").title == "in a"
    with zerolag.open() as default:  # namespace defaults to "default"
        assert default.namespace == "default"
        assert default.tasks.count() == 0


# ------------------------------------------------------------------------------------------
# several handles and processes on one store
# ------------------------------------------------------------------------------------------


def test_two_handles_see_each_others_writes(hub: Any, open_hub: Any) -> None:
    second = open_hub()  # same store, same namespace
    hub.tasks.create("from first", id="w1", intent="auth", keywords=["jwt"])
    assert second.tasks.get("w1").title == "from first"
    assert search_ids(second, intent="auth") == {"w1"}
    second.tasks.create("from second", id="w2", intent="auth", keywords=["jwt"])
    assert hub.tasks.count() == 2
    assert hub.tasks.get("w2").title == "from second"
    second.close()  # closing one handle leaves the other usable
    assert hub.tasks.count() == 2


CHILD = textwrap.dedent(
    """
    import sys, zerolag
    url, root, ns = sys.argv[1] or None, sys.argv[2], sys.argv[3]
    with zerolag.open(url, root=root, namespace=ns) as h:
        print(h.tasks.get("parent1").title)
        h.tasks.create("from child", id="child1", intent="auth", keywords=["jwt"])
        print(h.tasks.count())
    """
)


def test_second_process_sees_writes(
    hub: Any, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    hub.tasks.create("from parent", id="parent1", intent="auth", keywords=["jwt"])
    out = subprocess.run(
        [sys.executable, "-c", CHILD, store_url or "", str(tmp_path), namespace],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["from", "parent", "2"]
    assert hub.tasks.get("child1").title == "from child"
    assert search_ids(hub, intent="auth") == {"parent1", "child1"}


WRITER = textwrap.dedent(
    """
    import sys, zerolag
    url, root, ns = sys.argv[1] or None, sys.argv[2], sys.argv[3]
    with zerolag.open(url, root=root, namespace=ns) as h:
        print("ready", flush=True)
        sys.stdin.readline()  # start together with the parent
        for i in range(150):
            h.tasks.create(f"child {i}", id=f"c{i}", intent="auth", keywords=["jwt"])
    """
)


def test_processes_write_concurrently(
    hub: Any, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    # A frontend and a worker process writing at the same time: nothing lost, no lock errors.
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, store_url or "", str(tmp_path), namespace],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        child.stdin.write("go\n")
        child.stdin.flush()
        for i in range(150):
            hub.tasks.create(f"parent {i}", id=f"p{i}", intent="auth", keywords=["jwt"])
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert hub.tasks.count() == 300
    assert hub.tasks.get("c149").title == "child 149"


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
            in3 = redis_server.keys(f"*{namespace}*", db=3)
            assert in3 and len(in3) == db3.health().keys
            assert redis_server.keys(f"*{namespace}*", db=0) == set()
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
        assert len(server.keys("*tls*")) == h.health().keys


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
