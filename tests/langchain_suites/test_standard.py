"""LangChain's own standard tests, unmodified, for ``ZerolagCache``, ``ZerolagSemanticCache``
and ``ZerolagStore`` on every backend (the ``hub`` fixture is parametrized: embedded, redis,
cluster), and a fake chat model answered from the cache the second time (by the same prompt,
and by a paraphrase through the semantic cache)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.caches import BaseCache
from langchain_core.globals import set_llm_cache
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.stores import BaseStore
from langchain_tests.integration_tests import (
    AsyncCacheTestSuite,
    BaseStoreAsyncTests,
    BaseStoreSyncTests,
    SyncCacheTestSuite,
)
from zerolag.embed import HashingEmbedder
from zerolag.integrations.langchain import ZerolagCache, ZerolagSemanticCache, ZerolagStore


class TestZerolagCacheSync(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, hub: Any) -> BaseCache:
        return ZerolagCache(hub)


class TestZerolagCacheAsync(AsyncCacheTestSuite):
    @pytest.fixture
    def cache(self, hub: Any) -> BaseCache:
        return ZerolagCache(hub)


class TestZerolagSemanticCacheSync(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, hub: Any) -> BaseCache:
        return ZerolagSemanticCache(hub, HashingEmbedder(384))


class TestZerolagSemanticCacheAsync(AsyncCacheTestSuite):
    @pytest.fixture
    def cache(self, hub: Any) -> BaseCache:
        return ZerolagSemanticCache(hub, HashingEmbedder(384))


class TestZerolagStoreSync(BaseStoreSyncTests[bytes]):
    @pytest.fixture
    def kv_store(self, hub: Any) -> BaseStore[str, bytes]:
        return ZerolagStore(hub)

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return b"foo", b"bar\x00\xff", b"buzz"


class TestZerolagStoreAsync(BaseStoreAsyncTests[bytes]):
    @pytest.fixture
    def kv_store(self, hub: Any) -> BaseStore[str, bytes]:
        return ZerolagStore(hub)

    @pytest.fixture
    def three_values(self) -> tuple[bytes, bytes, bytes]:
        return b"foo", b"bar\x00\xff", b"buzz"


def test_a_fake_chat_model_is_answered_from_the_cache(hub: Any) -> None:
    model = FakeListChatModel(responses=["first answer", "second answer"])
    set_llm_cache(ZerolagCache(hub, ttl=3600))
    try:
        a = model.invoke("What is zerolag?")
        b = model.invoke("What is zerolag?")
        # Without the cache the fake model would give its second response.
        assert a.content == b.content == "first answer"
        assert model.invoke("Something else").content == "second answer"
        assert hub.cache.stats().hits == 1
    finally:
        set_llm_cache(None)


def test_a_fake_chat_model_is_answered_by_a_similar_prompt(hub: Any) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    model = FakeListChatModel(responses=["first answer", "second answer", "third answer"])
    cache = ZerolagSemanticCache(hub, HashingEmbedder(384), ttl=3600)
    set_llm_cache(cache)
    try:
        a = model.invoke("What is the refund policy for annual plans?")
        b = model.invoke("what's the refund policy for annual plans")
        assert a.content == b.content == "first answer"
        assert cache.last_match is not None and 0.9 <= cache.last_match.similarity < 0.99
        assert model.invoke("What is the capital of France?").content == "second answer"
        assert cache.last_match is None
        cache.clear()
        assert model.invoke("What is the refund policy for annual plans?").content == "third answer"
    finally:
        set_llm_cache(None)
    # A LangChain Embeddings works too (here one that is the same for the same text only).
    lc = ZerolagSemanticCache(hub, DeterministicFakeEmbedding(size=64), tag="other")
    from langchain_core.outputs import Generation

    lc.update("p", "llm", [Generation(text="t")])
    assert lc.lookup("p", "llm") == [Generation(text="t")]
    assert lc.lookup("p", "another llm") is None


def test_the_store_keeps_a_prefix_and_refuses_text(hub: Any) -> None:
    store = ZerolagStore(hub, prefix="docs/")
    store.mset([("a", b"1"), ("b/c", b"2")])
    hub.kv.set("other", b"x")
    assert sorted(store.yield_keys()) == ["a", "b/c"]
    assert list(store.yield_keys(prefix="b")) == ["b/c"]
    assert store.mget(["a", "zz"]) == [b"1", None]
    with pytest.raises(TypeError):
        store.mset([("t", "text")])  # type: ignore[list-item]


async def test_async_hub_works_with_the_async_methods(store_url: str | None, tmp_path: Any) -> None:
    import uuid

    import zerolag

    hub = await zerolag.open_async(store_url, root=tmp_path, namespace="t" + uuid.uuid4().hex[:12])
    try:
        store = ZerolagStore(hub)
        await store.amset([("k", b"v")])
        assert await store.amget(["k", "x"]) == [b"v", None]
        assert [k async for k in store.ayield_keys()] == ["k"]
        cache = ZerolagCache(hub)
        from langchain_core.outputs import Generation

        await cache.aupdate("p", "llm", [Generation(text="t")])
        assert await cache.alookup("p", "llm") == [Generation(text="t")]
        with pytest.raises(TypeError):
            cache.lookup("p", "llm")
        await cache.aclear()
        assert await cache.alookup("p", "llm") is None
        await hub.clear()
    finally:
        hub.close()
