"""``hub.kv`` on every backend: values round-trip as their kind, versions and compare-and-set,
TTL expiry (hidden at once, swept after), prefixes listed page by page, hostile keys never
used as patterns, size limits, atomic counters under threads, and the async twin.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner, data_keys


def test_values_come_back_as_their_kind(hub: Any) -> None:
    kv = hub.kv
    values: dict[str, Any] = {
        "b": b"\x00\x9f\xff\n",
        "s": "héllo",
        "j": {"a": [1, 2.5, None, True]},
        "n": 42,
        "l": [1, "x"],
        "null": None,
        "empty-bytes": b"",
        "empty-str": "",
    }
    for k, v in values.items():
        assert kv.set(k, v) == 1
    for k, v in values.items():
        got = kv.get(k, default="MISSING")
        assert got == v and type(got) is type(v), k
    assert kv.get("missing") is None
    assert kv.get("missing", default=7) == 7
    assert kv.get_many(["s", "missing", "b"]) == ["héllo", None, b"\x00\x9f\xff\n"]
    assert kv.set("ba", bytearray(b"ab")) == 1 and kv.get("ba") == b"ab"
    assert kv.set("mv", memoryview(b"cd")) == 1 and kv.get("mv") == b"cd"


def test_versions_and_compare_and_set(hub: Any) -> None:
    kv = hub.kv
    assert kv.set("k", "v1") == 1
    assert kv.set("k", "v2") == 2
    item = kv.item("k")
    assert (item.key, item.value, item.version, item.expires_at) == ("k", "v2", 2, None)
    with pytest.raises(zerolag.ConflictError):
        kv.set("k", "v3", if_version=1)
    assert kv.get("k") == "v2"
    assert kv.set("k", "v3", if_version=2) == 3
    with pytest.raises(zerolag.ConflictError):
        kv.set("k", "again", if_version=0)
    assert kv.set("fresh", 1, if_version=0) == 1
    with pytest.raises(zerolag.NotFoundError):
        kv.item("nope")


def test_set_many_is_all_or_nothing(hub: Any) -> None:
    kv = hub.kv
    assert kv.set_many({"a": 1, "b": b"2"}) == [1, 1]
    assert kv.set_many([("c", "3"), ("a", 10)]) == [1, 2]
    with pytest.raises(zerolag.ValidationError):
        kv.set_many([("x", 1), ("x", 2)])
    kv.configure(max_value=10)
    with pytest.raises(zerolag.ValidationError, match="limit"):
        kv.set_many({"y": "ok", "z": "x" * 11})
    assert kv.get("y") is None
    assert kv.delete_many(["a", "b", "nope"]) == 2
    assert kv.delete("c") is True and kv.delete("c") is False


def test_ttl_expiry_hides_keys_then_sweep_removes_them(
    hub: Any, backend: str, store_servers: list[Any], namespace: str
) -> None:
    kv = hub.kv
    kv.set("short", "x", ttl=0.2)
    kv.set("long", "y", ttl=60)
    kv.set("forever", "z")
    left = kv.ttl("short")
    assert left is not None and 0 < left <= 0.2
    assert kv.ttl("forever") is None
    assert 59 < (kv.item("long").expires_at or 0) - time.time() <= 60
    with pytest.raises(zerolag.NotFoundError):
        kv.ttl("missing")
    time.sleep(0.3)
    assert kv.get("short") is None
    assert list(kv.keys()) == ["forever", "long"]
    kv.sweep()
    if store_servers:
        # Nothing of the expired key is left in the store.
        assert not [k for k in data_keys(store_servers, namespace) if "short" in k]


def test_expire_touch_and_persist(hub: Any) -> None:
    kv = hub.kv
    kv.set("k", "v")
    assert kv.expire("k", 30) is True
    assert 29 < (kv.ttl("k") or 0) <= 30
    time.sleep(0.05)
    assert kv.touch("k") is True
    assert (kv.ttl("k") or 0) > 29.95
    assert kv.expire("k", None) is True and kv.ttl("k") is None
    assert kv.expire("nope", 5) is False and kv.touch("nope") is False
    kv.set("k", "v2", ttl=10)
    kv.set("k", "v3")  # a set without ttl removes the expiry
    assert kv.ttl("k") is None


def test_prefixes_list_page_by_page_and_delete(hub: Any) -> None:
    kv = hub.kv
    keys = [f"user:{i:03d}" for i in range(250)] + ["user", "user;", "usep", "users:x", "user:é"]
    kv.set_many({k: 1 for k in keys})
    got = list(kv.keys("user:"))
    assert got == sorted([f"user:{i:03d}" for i in range(250)] + ["user:é"])
    page = kv.keys_page("user:", limit=100)
    assert len(page.keys) == 100 and page.next == page.keys[-1]
    page2 = kv.keys_page("user:", after=page.next, limit=1000)
    assert page2.keys[0] > page.keys[-1] and page2.next is None
    assert len(list(kv.keys())) == len(keys)
    assert kv.delete_prefix("user:") == 251
    assert list(kv.keys()) == ["usep", "user", "user;", "users:x"]


def test_hostile_keys_are_keys_not_patterns(
    hub: Any, backend: str, store_servers: list[Any], namespace: str
) -> None:
    kv = hub.kv
    hostile = ["*", "?", "[a-z]*", "a\nb", "sp ace", "{tag}", "%41", "..", "../x", "\x00z", "😀"]
    kv.set_many({k: k for k in hostile})
    kv.set("plain", "p")
    for k in hostile:
        assert kv.get(k) == k
    assert kv.delete("*") is True
    assert kv.get("plain") == "p" and kv.get("?") == "?"
    assert list(kv.keys("[")) == ["[a-z]*"]
    assert kv.delete_prefix("*") == 0 and kv.get("plain") == "p"
    for bad in ["", "k" * 1025]:
        with pytest.raises(zerolag.ValidationError):
            kv.set(bad, 1)
    assert kv.set("k" * 1024, 1) == 1
    if store_servers:
        # Every stored key stays under the namespace's kv tag.
        prefix = f"zl:{{{namespace}:kv}}:"
        assert all(k.startswith(prefix) for k in data_keys(store_servers, namespace))


def test_keys_page_backwards_and_the_greatest_key(hub: Any) -> None:
    kv = hub.kv
    kv.set_many({f"log/{i:03}": i for i in range(30)} | {"log": 0, "loh": 1, "log0": 2})
    kv.set("log/029", 29, ttl=60)
    kv.set("log/030", 30, ttl=0.05)  # expires: never listed
    import time

    time.sleep(0.1)
    assert kv.keys_page("log/", limit=1, reverse=True).keys == ["log/029"]
    seen, after = [], None
    while True:
        page = kv.keys_page("log/", after=after, limit=8, reverse=True)
        seen += page.keys
        if page.next is None:
            break
        after = page.next
    assert seen == [f"log/{i:03}" for i in reversed(range(30))]
    assert kv.keys_page("log/", after="log/010", limit=3, reverse=True).keys == [
        "log/009",
        "log/008",
        "log/007",
    ]
    assert kv.keys_page("log", limit=2, reverse=True).keys == ["log0", "log/029"]
    assert kv.keys_page("nothing", reverse=True).keys == []
    with pytest.raises(zerolag.ValidationError):
        kv.keys_page("log/", limit=0, reverse=True)


def test_bad_values_and_ttls_are_validation_errors(hub: Any) -> None:
    kv = hub.kv
    for bad in [float("nan"), {1, 2}, object()]:
        with pytest.raises((zerolag.ValidationError, TypeError)):
            kv.set("k", bad)
    for ttl in [0, -1, float("inf"), float("nan")]:
        with pytest.raises(zerolag.ValidationError):
            kv.set("k", 1, ttl=ttl)
    assert kv.get("k") is None
    with pytest.raises(zerolag.ValidationError):
        kv.configure(max_value=0)


def test_values_up_to_the_limit(hub: Any) -> None:
    kv = hub.kv
    big = bytes(range(256)) * (4 * 4096)  # 4 MiB
    assert kv.set("big", big) == 1
    assert kv.get("big") == big
    with pytest.raises(zerolag.ValidationError):
        kv.set("huge", b"x" * (16 * 1024 * 1024 + 1))


def test_incr_is_atomic_across_threads(hub: Any) -> None:
    kv = hub.kv

    def bump() -> None:
        for _ in range(100):
            kv.incr("n")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert kv.get("n") == 400
    assert kv.incr("n", -401) == -1
    kv.set("s", "5")
    with pytest.raises(zerolag.ValidationError):
        kv.incr("s")
    kv.set("big", 2**63 - 1)
    with pytest.raises(zerolag.ValidationError):
        kv.incr("big")
    assert kv.incr("t", 3, ttl=30) == 3 and kv.ttl("t") is not None


def test_kv_is_counted_and_cleared(hub: Any) -> None:
    hub.kv.set("a", 1)
    assert hub.health().by_capability["kv"] > 0
    hub.clear()
    assert hub.kv.get("a") is None and hub.health().keys == 0


def test_async_kv(async_hub: Any, arun: AsyncRunner) -> None:
    async def main() -> None:
        kv = async_hub.kv
        assert await kv.set("a", b"1", ttl=30) == 1
        assert await kv.get("a") == b"1"
        await kv.set_many({f"p:{i}": i for i in range(5)})
        assert [k async for k in kv.keys("p:")] == [f"p:{i}" for i in range(5)]
        assert await kv.incr("c", 2) == 2
        assert (await kv.item("c")).version == 1
        assert await kv.delete_prefix("p:") == 5

    arun(main())


def test_a_steady_stream_of_writes_keeps_the_wal_bounded(tmp_path: Path, namespace: str) -> None:
    """The embedded store's WAL is started over while writes keep coming (a checkpoint beside
    them never finds a moment without new frames, and SQLite starts a WAL over only then): 25,000
    writes of 2 KB would leave about 500 MB of WAL without it (src/engine/sqlite.rs)."""
    hub = zerolag.open(root=tmp_path, namespace=namespace)
    try:
        wal = tmp_path / ".zerolag" / "zerolag.db-wal"
        value = b"x" * 2000
        largest = 0
        for i in range(25_000):
            hub.kv.set(f"k{i}", value)
            if i % 1000 == 999:
                largest = max(largest, wal.stat().st_size)
        assert hub.kv.get("k24999") is not None
        assert 0 < largest < 128 * 1024 * 1024, f"WAL reached {largest / 1e6:.0f} MB"
    finally:
        hub.close()
