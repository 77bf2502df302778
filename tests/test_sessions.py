"""``hub.sessions`` on every backend: ids of 128 random bits, expiry against the explicit
``now=`` (an expired session is never returned, never touched back to life), sliding expiry,
merge and replace, per-user listing and ending, size limits, keys, and the async twin.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import zerolag
from conftest import AsyncRunner, data_keys

T0 = float(int(time.time()))


def test_a_session_lives_its_ttl_and_no_longer(hub: Any) -> None:
    s = hub.sessions
    a = s.create("user:1", {"cart": [1, 2], "b": {"x": None}}, ttl=60, now=T0)
    assert re.fullmatch(r"[0-9a-f]{32}", a.id)
    assert (a.user, a.created_at, a.expires_at, a.ttl) == ("user:1", T0, T0 + 60, 60.0)
    assert a.data == {"b": {"x": None}, "cart": [1, 2]} and list(a.data) == ["b", "cart"]
    got = s.get(a.id, now=T0 + 59.999)
    assert got is not None and (got.id, got.data, got.expires_at) == (a.id, a.data, T0 + 60)
    assert s.get(a.id, now=T0 + 60) is None
    assert not s.touch(a.id, now=T0 + 60), "an expired session came back"
    assert not s.update(a.id, {"x": 1}, now=T0 + 61)
    assert s.for_user("user:1", now=T0 + 60) == []
    # Sliding expiry: touch moves the expiry to now + ttl.
    assert s.touch(a.id, now=T0 + 50)
    assert s.get(a.id, now=T0 + 109).expires_at == T0 + 110  # type: ignore[union-attr]
    assert s.touch(a.id, ttl=5, now=T0 + 100)
    got = s.get(a.id, now=T0 + 104)
    assert got is not None and (got.expires_at, got.ttl) == (T0 + 105, 5.0)
    assert s.get(a.id, now=T0 + 105) is None
    assert "Session(id=" in repr(a)


def test_update_merges_or_replaces(hub: Any) -> None:
    s = hub.sessions
    a = s.create("u", {"a": 1, "b": 2}, ttl=60, now=T0)
    assert s.update(a.id, {"b": None, "c": {"d": [1]}}, now=T0)
    assert s.get(a.id, now=T0).data == {"a": 1, "c": {"d": [1]}}  # type: ignore[union-attr]
    assert s.update(a.id, {"z": "only"}, replace=True, now=T0)
    got = s.get(a.id, now=T0)
    assert got is not None and got.data == {"z": "only"} and got.expires_at == T0 + 60
    big = "x" * 40_000
    assert s.update(a.id, {"big": big}, now=T0)
    with pytest.raises(zerolag.ValidationError, match="64"):
        s.update(a.id, {"big2": big}, now=T0)
    assert set(s.get(a.id, now=T0).data) == {"z", "big"}  # type: ignore[union-attr]
    with pytest.raises(zerolag.ValidationError):
        s.create("u", {"a": "x" * 70_000}, ttl=60)
    with pytest.raises(zerolag.ValidationError, match="dict"):
        s.update(a.id, [1, 2])  # type: ignore[arg-type]


def test_many_top_level_keys(hub: Any) -> None:
    s = hub.sessions
    data = {f"k{i}": i for i in range(6000)}
    a = s.create("u", data, ttl=60, now=T0)
    assert s.get(a.id, now=T0).data == dict(sorted(data.items()))  # type: ignore[union-attr]
    assert s.update(a.id, {f"k{i}": None for i in range(0, 6000, 2)}, now=T0)
    assert len(s.get(a.id, now=T0).data) == 3000  # type: ignore[union-attr]
    assert s.update(a.id, {"only": True}, replace=True, now=T0)
    assert s.get(a.id, now=T0).data == {"only": True}  # type: ignore[union-attr]


def test_users_list_and_end_their_sessions(hub: Any) -> None:
    s = hub.sessions
    a = s.create("ana", ttl=100, now=T0)
    b = s.create("ana", {"device": "phone"}, ttl=10, now=T0 + 1)
    c = s.create("bob", ttl=100, now=T0)
    assert [x.id for x in s.for_user("ana", now=T0 + 2)] == [a.id, b.id]
    assert [x.id for x in s.for_user("ana", now=T0 + 11)] == [a.id]
    assert s.for_user("nobody") == []
    assert s.destroy_user("ana", now=T0 + 11) == 1
    assert s.get(a.id, now=T0 + 11) is None and s.get(b.id, now=T0 + 2) is None
    assert s.destroy(c.id, now=T0) and not s.destroy(c.id, now=T0)
    assert s.get(c.id, now=T0) is None


def test_ids_are_unguessable_and_odd_ids_are_not_found(hub: Any) -> None:
    s = hub.sessions
    ids = {s.create("u", ttl=60).id for _ in range(200)}
    assert len(ids) == 200
    bits = {int(i, 16) >> 64 for i in ids}  # the high halves differ too
    assert len(bits) == 200
    for odd in ["", "*", "x" * 32, "A" * 32, "../" + "0" * 29, "0" * 33]:
        assert s.get(odd) is None
        assert not s.touch(odd) and not s.destroy(odd) and not s.update(odd, {})
    for bad in ["", "*", "a b", "x" * 129]:
        with pytest.raises(zerolag.ValidationError, match="user id"):
            s.create(bad, ttl=60)
        with pytest.raises(zerolag.ValidationError, match="user id"):
            s.for_user(bad)
    for ttl in [0, -1, float("nan"), 400 * 86400]:
        with pytest.raises(zerolag.ValidationError, match="ttl"):
            s.create("u", ttl=ttl)


def test_keys_follow_the_schema_and_go_with_their_sessions(
    hub: Any, backend: str, store_servers: list[Any]
) -> None:
    if backend == "embedded":
        pytest.skip("Redis keys")
    ns = hub.namespace
    a = hub.sessions.create("ana", {"k": 1}, ttl=60)
    assert data_keys(store_servers, ns) == {
        f"zl:{{{ns}:sessions}}:s:{a.id}",
        f"zl:{{{ns}:sessions}}:u:ana",
    }
    assert hub.health().by_capability["sessions"] == 2
    hub.sessions.destroy_user("ana")
    assert data_keys(store_servers, ns) == set()
    # The keys carry a time to live on the server that removes them once the session has
    # expired (a backup: reads compare the expiry with `now` themselves).
    b = hub.sessions.create("bob", ttl=60)
    assert hub.sessions.get(b.id, now=time.time() + 61) is None
    for key in (f"zl:{{{ns}:sessions}}:s:{b.id}", f"zl:{{{ns}:sessions}}:u:bob"):
        server = next(x for x in store_servers if x.keys(key))
        assert 0 < server.command("PTTL", key) <= 60_000, key


def test_the_async_twin(async_hub: Any, arun: AsyncRunner) -> None:
    async def go() -> None:
        s = async_hub.sessions
        a = await s.create("u", {"x": 1}, ttl=60, now=T0)
        assert (await s.get(a.id, now=T0)).data == {"x": 1}
        assert await s.touch(a.id, now=T0 + 1)
        assert await s.update(a.id, {"y": 2}, now=T0 + 1)
        assert [x.id for x in await s.for_user("u", now=T0 + 1)] == [a.id]
        assert await s.destroy(a.id, now=T0 + 1)
        assert await s.destroy_user("u", now=T0 + 1) == 0

    arun(go())
