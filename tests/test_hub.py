"""The hub: opening and closing, health, namespaces, shared stores (connections and their
errors are in test_connections.py).

Runs against real stores: embedded SQLite in tmp dirs, the session's redis-server and Redis
Cluster, and throwaway servers for auth, unix sockets, TLS and a paused (SIGSTOP) server.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import (
    AsyncRunner,
    RedisServer,
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


def test_import_loads_no_numpy() -> None:
    """``import zerolag`` and an embedded hub leave numpy (and its BLAS threads) unloaded:
    the package loads it where vectors are used."""
    code = (
        "import sys, tempfile, zerolag\n"
        "h = zerolag.open(root=tempfile.mkdtemp(), namespace='n')\n"
        "h.tasks.create('t'); h.cache.set('k', 1); h.close()\n"
        "print('numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


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


def test_a_sqlite_url_names_a_database_file_or_a_root(tmp_path: Path) -> None:
    db = tmp_path / "data" / "agents.db"
    with zerolag.open(f"sqlite://{db}", namespace="f") as h:
        h.tasks.create("in a file", id="f1", intent="auth")
    assert db.is_file()  # that file, not a directory of that name
    assert not (tmp_path / "data" / ".zerolag").exists()
    with zerolag.open(f"sqlite://{db}?timeout=2", namespace="f") as again:
        assert again.tasks.get("f1").title == "in a file"
    # A directory is a root, as before: its .zerolag/zerolag.db.
    store = tmp_path / "store"
    with zerolag.open(f"sqlite://{store}", namespace="f") as h:
        h.tasks.create("in a root", id="f2", intent="auth")
    assert (store / ".zerolag" / "zerolag.db").is_file()
    with zerolag.open(root=store, namespace="f") as same:
        assert same.tasks.get("f2").title == "in a root"
    # A file that is not a database is refused, not overwritten.
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n")
    with pytest.raises(zerolag.ZerolagError):
        zerolag.open(f"sqlite://{notes}")
    assert notes.read_text() == "not a database\n"


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
