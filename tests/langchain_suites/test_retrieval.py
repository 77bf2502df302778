"""LangChain's vector-store and retriever standard tests (``langchain-tests``, unmodified) for
``ZerolagVectorStore`` and ``ZerolagMemoryRetriever`` on every backend, and what the suites do
not cover: hybrid against vector-only ranking, metadata filters, collections kept apart, the
package's embedders as LangChain ``Embeddings``."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import zerolag
from langchain_core.documents import Document
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import (
    RetrieversIntegrationTests,
    VectorStoreIntegrationTests,
)
from zerolag.embed import HashingEmbedder
from zerolag.integrations.langchain import (
    ZerolagEmbeddings,
    ZerolagMemoryRetriever,
    ZerolagVectorStore,
)


class TestZerolagVectorStore(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, hub: Any) -> Generator[VectorStore, None, None]:  # type: ignore[override]
        store = ZerolagVectorStore(hub, self.get_embeddings(), collection="suite")
        try:
            yield store
        finally:
            store.delete()


class TestZerolagVectorStoreVectorsOnly(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, hub: Any) -> Generator[VectorStore, None, None]:  # type: ignore[override]
        store = ZerolagVectorStore(hub, self.get_embeddings(), collection="suite", hybrid=False)
        try:
            yield store
        finally:
            store.delete()


FACTS = [
    ("f1", "The invoice for March was paid by card"),
    ("f2", "Ana moved to Lisbon and works as a nurse"),
    ("f3", "The refund policy allows returns within 30 days"),
    ("f4", "Invoices are sent on the first day of the month"),
    ("f5", "The office coffee machine is broken again"),
]


class TestZerolagMemoryRetriever(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _facts(self, hub: Any) -> None:
        self.hub = hub
        hub.memory.remember_many([(k, v) for k, v in FACTS])

    @property
    def retriever_constructor(self) -> type[ZerolagMemoryRetriever]:
        return ZerolagMemoryRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"hub": self.hub}

    @property
    def retriever_query_example(self) -> str:
        return "when are invoices sent or paid, and what about the refund policy"


def test_hybrid_finds_a_rare_word_and_filters_by_metadata(hub: zerolag.Hub) -> None:
    emb = ZerolagEmbeddings(HashingEmbedder(dim=128))
    store = ZerolagVectorStore(hub, emb, collection="docs")
    ids = store.add_texts(
        [text for _, text in FACTS],
        [
            {"n": i, "kind": "billing" if "nvoice" in t else "other"}
            for i, (_, t) in enumerate(FACTS)
        ],
        ids=[k for k, _ in FACTS],
    )
    assert ids == [k for k, _ in FACTS]
    top = store.similarity_search("coffee machine", k=1)
    assert [d.id for d in top] == ["f5"]
    billing = store.similarity_search("paid", k=5, filter={"kind": "billing"})
    assert {d.id for d in billing} == {"f1", "f4"}
    scored = store.similarity_search_with_relevance_scores("refund policy returns", k=2)
    assert scored[0][0].id == "f3" and 0.0 <= scored[1][1] <= scored[0][1] <= 1.0
    # Another collection in the same namespace sees nothing of this one.
    other = ZerolagVectorStore(hub, emb, collection="other")
    assert other.similarity_search("coffee machine", k=3) == []
    assert other.get_by_ids(["f5"]) == []
    # The retriever over the same records, by vector and keyword.
    r = store.as_retriever(search_kwargs={"k": 2})
    assert [d.id for d in r.invoke("invoices")][:1] in (["f4"], ["f1"])
    store.delete(["f5"])
    assert store.get_by_ids(["f5", "f1"]) == [
        Document(id="f1", page_content=FACTS[0][1], metadata={"n": 0, "kind": "billing"})
    ]


def test_vectors_only_scores_are_cosine(hub: zerolag.Hub) -> None:
    store = ZerolagVectorStore(hub, HashingEmbedder(dim=64), collection="c", hybrid=False)
    store.add_texts(["alpha beta", "gamma delta"], ids=["a", "g"])
    (doc, score), *_ = store.similarity_search_with_score("alpha beta", k=2)
    assert doc.id == "a" and score == pytest.approx(1.0, abs=1e-5)


def test_bad_input_is_refused(hub: zerolag.Hub) -> None:
    store = ZerolagVectorStore(hub, HashingEmbedder(dim=16), collection="c")
    with pytest.raises(zerolag.ValidationError):
        store.add_texts(["a", "b"], ids=["1"])
    with pytest.raises(zerolag.ValidationError):
        store.add_texts(["a"], [{"x": 1}, {"y": 2}])
    with pytest.raises(zerolag.ValidationError):
        ZerolagVectorStore(object(), HashingEmbedder(dim=16))  # type: ignore[arg-type]
    with pytest.raises(zerolag.ValidationError):
        ZerolagEmbeddings(lambda texts: [[1.0]]).embed_documents(["a", "b"])
    assert store.similarity_search("a", k=3) == []
