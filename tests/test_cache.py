"""``hub.cache`` on every backend: values round-trip as their kind, TTL expiry, tag invalidation
over many keys (one counter, entries removed lazily), prefix invalidation, hostile keys never
used as patterns, oversized values refused with nothing written, stats shared by every
handle, a bounded cache evicting, the ``cached`` decorator with single flight under threads,
asyncio tasks and real processes (and a lease taken over after its holder was SIGKILLed),
and LLM responses (keys, ``cached_model``, DualLoop with a counting model).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner, command_calls, data_keys
from zerolag.cache import cached_model, function_key, llm_key

HERE = Path(__file__).resolve().parent


def test_values_come_back_as_their_kind(hub: Any) -> None:
    c = hub.cache
    values: dict[str, Any] = {
        "b": b"\x00\x9f\xff\n",
        "s": "héllo",
        "j": {"a": [1, 2.5, None, True]},
        "n": 42,
        "null": None,
        "empty": b"",
    }
    for k, v in values.items():
        c.set(k, v)
    for k, v in values.items():
        got = c.get(k, default="MISSING")
        assert got == v and type(got) is type(v), k
    assert c._lookup("null") == (True, None, False)
    assert c.get("missing") is None and c.get("missing", default=7) == 7
    assert c.get_many(["s", "missing", "b"]) == ["héllo", None, b"\x00\x9f\xff\n"]
    c.set_many({"x": 1, "y": b"2"}, ttl=60, tags=["t"])
    assert c.get_many(["x", "y"]) == [1, b"2"]
    assert c.delete("x") is True and c.delete("x") is False
    big = bytes(range(256)) * 4096  # 1 MiB of every byte value
    c.set("big", big)
    assert c.get("big") == big


def test_ttl_expiry(hub: Any, backend: str, store_servers: list[Any], namespace: str) -> None:
    c = hub.cache
    c.set("short", "x", ttl=0.2, tags=["t"])
    c.set("long", "y", ttl=60)
    c.set("forever", "z")
    assert c.get("short") == "x"
    time.sleep(0.3)
    assert c.get("short") is None
    assert c.get_many(["long", "forever"]) == ["y", "z"]
    c.sweep()
    s = c.stats()
    assert s.entries == 2 and s.tags == {}
    if store_servers:
        assert not [k for k in data_keys(store_servers, namespace) if "short" in k]


def test_invalidating_a_tag_of_many_entries(
    hub: Any, backend: str, store_servers: list[Any], namespace: str
) -> None:
    c = hub.cache
    n = 3000
    c.set_many({f"user:{i}": {"i": i} for i in range(n)}, tags=["users", "all"])
    c.set_many({f"post:{i}": i for i in range(100)}, tags=["posts", "all"])
    c.set("free", "no tags")
    assert c.stats().tags == {"users": n, "posts": 100, "all": n + 100}
    assert c.invalidate_tag("users") == n
    assert c.get_many([f"user:{i}" for i in range(0, n, 7)]) == [None] * len(range(0, n, 7))
    assert c.get("post:5") == 5 and c.get("free") == "no tags"
    # "all" still counts the invalidated users until they are removed (read, swept).
    assert c.stats().tags == {"posts": 100, "all": 100 + n - len(range(0, n, 7))}
    # Written again after the invalidation: current, and counted under the tag again.
    c.set("user:1", "new", tags=["users"])
    assert c.get("user:1") == "new"
    assert c.invalidate_tag("users") == 1 and c.invalidate_tag("users") == 0
    assert c.invalidate_tag("never-used") == 0
    # Invalidated entries go lazily: at a read (above) or with the sweep.
    assert c.sweep() >= n - len(range(0, n, 7))
    s = c.stats()
    assert s.entries == 101 and s.tags == {"posts": 100, "all": 100}
    assert c.invalidate_tag("all") == 100 and c.get("post:5") is None and c.get("free") == "no tags"
    if store_servers:
        keys = data_keys(store_servers, namespace)
        assert all(k.startswith(f"zl:{{{namespace}:cache}}:") for k in keys)
        # One namespace's cache lives in one slot: the generation check runs in the script
        # that reads the entry (docs/cache.md).
        slots = (
            {store_servers[0].command("CLUSTER", "KEYSLOT", k) for k in keys}
            if backend == "cluster"
            else {0}
        )
        assert len(slots) == 1


def test_invalidate_prefix_and_hostile_keys(
    hub: Any, backend: str, store_servers: list[Any], namespace: str
) -> None:
    c = hub.cache
    hostile = ["*", "?", "[a-z]*", "a\nb", "sp ace", "{tag}", "%41", "..", "\x00z", "😀", "*x"]
    c.set_many({k: k for k in hostile})
    c.set_many({f"user:{i:03d}": i for i in range(250)})
    c.set_many({"user": 0, "user;": 0, "usep": 0})
    for k in hostile:
        assert c.get(k) == k
    assert c.delete("*") is True
    assert c.get("*x") == "*x" and c.get("?") == "?"
    assert c.invalidate_prefix("*") == 1  # "*x" only: a prefix, not a pattern
    assert c.get("[a-z]*") == "[a-z]*"
    assert c.invalidate_prefix("user:") == 250
    assert c.get_many(["user", "user;", "usep", "user:001"]) == [0, 0, 0, None]
    assert c.invalidate_prefix("nothing") == 0
    for bad in ["", "k" * 1025]:
        with pytest.raises(zerolag.ValidationError):
            c.set(bad, 1)
    for bad_tag in ["", "a\nb", "t" * 257]:
        with pytest.raises(zerolag.ValidationError):
            c.set("k", 1, tags=[bad_tag])
    with pytest.raises(zerolag.ValidationError):
        c.set("k", 1, tags=["a", "a"])
    assert c.get("k") is None


def test_oversized_values_are_refused_and_nothing_is_written(hub: Any) -> None:
    c = hub.cache
    before = c.stats()
    c.configure(max_value=10)
    with pytest.raises(zerolag.ValidationError, match="limit"):
        c.set("k", "x" * 11)
    with pytest.raises(zerolag.ValidationError, match="limit"):
        c.set_many({"ok": "fine", "big": b"x" * 11})
    assert c.get_many(["k", "ok", "big"]) == [None, None, None]
    assert c.stats().entries == before.entries == 0
    c.configure(max_value=16 << 20)
    with pytest.raises(zerolag.ValidationError):
        c.set("huge", b"x" * ((16 << 20) + 1))
    for bad in [{"max_value": 0}, {"max_value": (512 << 20) + 1}]:
        with pytest.raises(zerolag.ValidationError):
            c.configure(**bad)
    for ttl in [0, -1, float("inf"), float("nan")]:
        with pytest.raises(zerolag.ValidationError):
            c.set("k", 1, ttl=ttl)


def test_stats_are_the_stores_and_every_handle_sees_them(hub: Any, open_hub: Any) -> None:
    c = hub.cache
    c.set("a", "1", tags=["t"])
    c.set("b", b"22", tags=["t", "u"])
    assert c.get("a") == "1" and c.get("b") == b"22" and c.get("zz") is None
    s = c.stats()
    assert (s.hits, s.misses, s.entries, s.bytes) == (2, 1, 2, 3)
    assert s.hit_ratio == pytest.approx(2 / 3)
    assert s.tags == {"t": 2, "u": 1}
    other = open_hub()
    o = other.cache.stats()
    assert (o.hits, o.misses, o.entries, o.bytes, o.tags) == (2, 1, 2, 3, {"t": 2, "u": 1})
    other.cache.get("a")
    other.cache.stats()  # writes its pending reads (embedded)
    assert c.stats().hits == 3
    assert "hit_ratio=" in repr(s)


def test_embedded_hits_are_written_in_batches_not_per_read(tmp_path: Path, namespace: str) -> None:
    """A read counts its hit in the handle and writes the counts at most once a second (or
    every 1,024 reads, or at ``stats()``): 100 hits in a row commit nothing to the database,
    which another connection sees through ``PRAGMA data_version``."""
    hub = zerolag.open(root=tmp_path, namespace=namespace)
    try:
        c = hub.cache
        c.set_many({f"k{i}": i for i in range(100)})
        assert c.get("k0") == 0 and c.stats().hits == 1  # written now: a fresh second starts
        db = sqlite3.connect(tmp_path / ".zerolag" / "zerolag.db")
        version = db.execute("PRAGMA data_version").fetchone()[0]
        t0 = time.monotonic()
        assert [c.get(f"k{i}") for i in range(100)] == list(range(100))
        fast = time.monotonic() - t0 < 0.9  # the batch's second did not end meanwhile
        assert not fast or db.execute("PRAGMA data_version").fetchone()[0] == version
        assert c.stats().hits == 101
        assert db.execute("PRAGMA data_version").fetchone()[0] != version
        db.close()
    finally:
        hub.close()


def test_closing_a_hub_writes_its_pending_counts(hub: Any, open_hub: Callable[..., Any]) -> None:
    other = open_hub()
    other.cache.set("k", "v")
    assert [other.cache.get("k") for _ in range(5)] == ["v"] * 5
    assert other.cache.get("absent") is None
    other.close()  # within the batch's second: only the close writes them
    s = hub.cache.stats()
    assert (s.hits, s.misses) == (5, 1)


def test_reads_the_quick_path_cannot_vouch_for_go_to_the_script(
    hub: Any, store_servers: list[Any], namespace: str
) -> None:
    """On Redis a read without a lease is one pipeline of plain reads (docs/keys.md); an
    entry it cannot vouch for is left to the read script, which serves it when current and
    removes it when not."""
    if not store_servers:
        pytest.skip("Redis keys: the embedded store reads in one transaction")
    c = hub.cache
    c.set_many({"old": "o", "epoch": "e", "unlisted": "u"}, tags=["t"])
    c.set("plain", "p")
    p = f"zl:{{{namespace}:cache}}:"
    node = next(s for s in store_servers if s.keys(f"{p}e:*"))  # the slot's master
    # A current entry is served without a script.
    scripts = command_calls(node, "evalsha")
    assert [c.get("plain"), c.get("old")] == ["p", "o"]
    assert command_calls(node, "evalsha") == scripts
    # Written before the tag clock existed (no `y`): the script checks its tags, serves it.
    node.command("HDEL", f"{p}e:old", "y")
    # Of another epoch, and missing from the index: not served, and the script removes both.
    node.command("HSET", f"{p}e:epoch", "x", "another")
    node.command("ZREM", f"{p}idx", "unlisted")
    assert c.get_many(["old", "epoch", "unlisted", "plain"]) == ["o", None, None, "p"]
    assert command_calls(node, "evalsha") == scripts + 1
    assert node.command("EXISTS", f"{p}e:epoch", f"{p}e:unlisted") == 0
    # Any invalidation moves the tag clock: entries with tags written before it go to the
    # script, which still serves those whose own tags did not change, and records the clock
    # it checked them at, so the next reads are script-free again.
    c.invalidate_tag("other")
    scripts = command_calls(node, "evalsha")
    assert c.get("old") == "o" and c.get("plain") == "p"
    assert command_calls(node, "evalsha") == scripts + 1
    assert [c.get("old") for _ in range(3)] == ["o"] * 3
    assert command_calls(node, "evalsha") == scripts + 1
    c.invalidate_tag("t")
    assert c.get("old") is None
    assert c.stats().hits == 9


def test_a_bounded_cache_evicts(hub: Any, backend: str) -> None:
    c = hub.cache
    assert c.configure(max_entries=50)["max_entries"] == 50
    c.set_many({f"k{i}": i for i in range(50)})
    time.sleep(0.01)  # access times are in milliseconds: let the reads come later
    for i in range(10):  # the hot ones
        assert c.get(f"k{i}") == i
    time.sleep(0.01)
    for i in range(50, 70):
        c.set(f"k{i}", i)
    s = c.stats()
    assert s.entries == 50, s
    assert c.get("k69") == 69
    if backend == "embedded":
        # Least recently used first: the hot ten survived, the oldest cold ones went.
        assert c.get_many([f"k{i}" for i in range(10)]) == list(range(10))
        assert c.get_many([f"k{i}" for i in range(10, 30)]) == [None] * 20
    c.configure(max_entries=0, max_bytes=100)
    c.set("big", b"x" * 90)
    assert c.stats().bytes <= 100


def test_cache_is_counted_and_cleared(hub: Any) -> None:
    hub.cache.set("a", 1, tags=["t"])
    assert hub.cache.get("a") == 1  # a hit the embedded store has not written down yet
    assert hub.health().by_capability["cache"] > 0
    hub.clear()
    assert hub.health().keys == 0
    s = hub.cache.stats()
    assert (s.hits, s.misses, s.entries, s.tags) == (0, 0, 0, {})
    assert hub.cache.get("a") is None


# ------------------------------------------------------------------------------------------
# The decorator and single flight
# ------------------------------------------------------------------------------------------


def test_cached_keys_and_values(hub: Any) -> None:
    calls: list[tuple[Any, ...]] = []

    @hub.cache.cached(ttl=60, tags=["math"])
    def add(x: int, y: int = 1) -> Any:
        calls.append((x, y))
        return None if x == 0 else {"sum": x + y}

    assert add(1) == {"sum": 2} and add(1) == {"sum": 2} and add(x=1, y=1) == {"sum": 2}
    assert add(0) is None and add(0) is None  # a cached None is a hit, not a miss
    assert calls == [(1, 1), (0, 1)]
    assert add.cache_key(1) == add.cache_key(x=1) == function_key(add.__wrapped__, (1,), {})
    assert add.cache_key(1).startswith("fn:test_cache.")
    assert hub.cache.invalidate_tag("math") == 2
    assert add(1) == {"sum": 2} and len(calls) == 3
    with pytest.raises(zerolag.ValidationError, match="key="):
        add(object())

    @hub.cache.cached(key=lambda user: f"user:{user['id']}")
    def load(user: dict[str, Any]) -> str:
        calls.append(("load",))
        return user["name"]

    assert load({"id": 7, "name": "ana"}) == "ana"
    assert load({"id": 7, "name": "other"}) == "ana"
    assert hub.cache.get("user:7") == "ana"


def test_single_flight_under_threads(hub: Any) -> None:
    calls = []
    lock = threading.Lock()

    @hub.cache.cached
    def slow(x: int) -> int:
        with lock:
            calls.append(x)
        time.sleep(0.3)
        return x * 10

    out: list[int] = []
    threads = [threading.Thread(target=lambda: out.append(slow(4))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [40] * 8 and calls == [4]

    @hub.cache.cached
    def boom() -> int:
        calls.append(-1)
        raise RuntimeError("boom")

    for _ in range(2):  # a failure caches nothing and leaves no lease behind
        with pytest.raises(RuntimeError):
            boom()
    assert calls.count(-1) == 2


def test_single_flight_under_asyncio_tasks(async_hub: Any, arun: AsyncRunner) -> None:
    calls: list[int] = []

    @async_hub.cache.cached(ttl=60)
    async def slow(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0.2)
        return x + 1

    async def main() -> list[int]:
        return list(await asyncio.gather(*(slow(1) for _ in range(10))))

    assert arun(main()) == [2] * 10 and calls == [1]
    with pytest.raises(TypeError):
        async_hub.cache.cached(lambda: 1)


WORKER = textwrap.dedent(
    """
    import sys, time, zerolag
    url, root, ns, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    hub = zerolag.open(None if url == "-" else url, root=root, namespace=ns)
    if mode == "hold":  # take the lease as a computing process would, then hang
        print(hub.cache._lookup("fn:shared", 1.0, "held-by-me", False), flush=True)
        time.sleep(60)

    @hub.cache.cached(key=lambda: "fn:shared")
    def compute():
        hub.kv.incr("calls")
        time.sleep(1.0)  # long enough for the other processes to start and miss meanwhile
        return {"by": mode}

    print(compute()["by"], flush=True)
    """
)


def _spawn(store_url: str | None, root: Path, ns: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, store_url or "-", str(root), ns, mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE)},
    )


def test_single_flight_across_processes(
    hub: Any, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    procs = [_spawn(store_url, tmp_path, namespace, f"p{i}") for i in range(4)]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert hub.kv.get("calls") == 1, outs
    assert len(set(outs)) == 1 and outs[0].startswith("p")


def test_a_dead_lease_holder_is_taken_over(
    hub: Any, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    holder = _spawn(store_url, tmp_path, namespace, "hold")
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "(False, None, True)"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()

    @hub.cache.cached(key=lambda: "fn:shared")
    def compute() -> str:
        hub.kv.incr("calls")
        return "mine"

    # The holder never writes; its lease expires (1 s) and this process computes itself.
    assert compute() == "mine" and hub.kv.get("calls") == 1


# ------------------------------------------------------------------------------------------
# LLM responses
# ------------------------------------------------------------------------------------------


def test_llm_keys_are_stable_and_scoped() -> None:
    m = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
    same = [
        {"role": " System", "content": "Be brief.\r\n"},
        {"role": "user", "content": " Hi there "},
    ]
    k = llm_key("gpt-x", m, temperature=0)
    assert k == llm_key("gpt-x", same, temperature=0, timeout=5, api_key="sk-1")
    assert k.startswith("llm:gpt-x:") and len(k) == len("llm:gpt-x:") + 64
    assert k != llm_key("gpt-x", m, temperature=0.7)
    assert k != llm_key("gpt-x", m)
    assert k != llm_key("gpt-y", m, temperature=0)
    assert k != llm_key("gpt-x", m, temperature=0, tools=[{"name": "f"}])
    assert k != llm_key("gpt-x", [*m, {"role": "user", "content": "more"}], temperature=0)
    with pytest.raises(zerolag.ValidationError):
        llm_key("", m)


def counting(reply: str = "Hello!") -> Any:
    def model(messages: list[dict[str, str]]) -> str:
        model.calls += 1  # type: ignore[attr-defined]
        return reply

    model.calls = 0  # type: ignore[attr-defined]
    return model


def test_cached_model_answers_the_second_time_from_the_cache(hub: Any) -> None:
    model = counting()
    cm = cached_model(model, ttl=3600, hub=hub)
    msgs = [{"role": "user", "content": "What is zerolag?"}]
    assert cm(msgs) == "Hello!" and cm(msgs) == "Hello!" and model.calls == 1
    assert cm([{"role": "user", "content": "Other"}]) == "Hello!" and model.calls == 2
    assert hub.cache.llm.get(cm.name, msgs) == "Hello!"
    hub.cache.llm.set("m", msgs, "stored", temperature=0)
    assert hub.cache.llm.get("m", msgs, temperature=0) == "stored"
    assert hub.cache.llm.get("m", msgs, temperature=1) is None
    chat = zerolag.llm.OpenAIChat("gpt-test", base_url="http://127.0.0.1:9", temperature=0)
    wrapped = cached_model(chat, hub=hub)
    assert wrapped.name == "gpt-test" and wrapped.params == {"temperature": 0}
    hub.cache.set(wrapped.key(msgs), "from cache")
    assert wrapped(msgs) == "from cache"  # no request is sent: port 9 would refuse it


def test_dual_loop_with_a_cached_frontend(hub: Any) -> None:
    model = counting("Sure, noted.")
    loop = zerolag.DualLoop(hub, cached_model(model, hub=hub))
    try:
        a = loop.send("s1", "Tell me about the cache")
        b = loop.send("s1", "Tell me about the cache")  # the same turn again
        assert a.text == b.text == "Sure, noted."
        assert model.calls == 1
    finally:
        loop.close()


def test_async_cached_model(async_hub: Any, arun: AsyncRunner) -> None:
    model = counting()
    cm = cached_model(model, hub=async_hub)
    msgs = [{"role": "user", "content": "hi"}]

    async def main() -> list[str]:
        return list(await asyncio.gather(*(cm.acomplete(msgs) for _ in range(5))))

    assert arun(main()) == ["Hello!"] * 5 and model.calls == 1
    assert arun(cm.acomplete(msgs)) == "Hello!" and model.calls == 1
