"""LangChain retrieval on ``hub.memory`` (``pip install zerolag[langchain]``):

* :class:`ZerolagVectorStore` (``langchain_core.vectorstores.VectorStore``): documents are
  memory records of one scope (``{"collection": <name>}``), searched by the memory's hybrid
  search (BM25 over the text, vector similarity, fused by reciprocal rank; ``hybrid=False``
  for vectors only), on the embedded store, Redis and Redis Cluster. It passes LangChain's
  vector-store standard tests (``langchain-tests``) unmodified.
* :class:`ZerolagMemoryRetriever` (``BaseRetriever``): any memory search (scope, kinds,
  categories, entities around, as-of time) as LangChain documents.
* :class:`ZerolagEmbeddings`: the package's embedders (``zerolag.embed``) as LangChain
  ``Embeddings``.

A document is a record: key = the document id, value = its text, metadata = its metadata (a
JSON object), embedding in the vector space ``langchain-<dim>`` (declared on first use).
Adding a document again under its id writes a new version (the memory keeps history; searches
see the current one); ``delete`` purges every version.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

try:
    import numpy as np
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.vectorstores import VectorStore
    from pydantic import ConfigDict
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "zerolag.integrations.langchain needs langchain-core: pip install 'zerolag[langchain]'"
    ) from e

from .._core import Hub, MemoryHit, MemoryRecord
from ..exceptions import ValidationError

__all__ = ["ZerolagEmbeddings", "ZerolagMemoryRetriever", "ZerolagVectorStore"]


class ZerolagEmbeddings(Embeddings):
    """A zerolag embedder (a callable ``texts -> array``, e.g.
    :class:`zerolag.embed.HashingEmbedder` or :class:`zerolag.embed.OpenAIEmbeddings`) as
    LangChain ``Embeddings``."""

    def __init__(self, embedder: Callable[[list[str]], Any]) -> None:
        if not callable(embedder):
            raise ValidationError("ZerolagEmbeddings needs a callable texts -> vectors")
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        m = np.asarray(self.embedder(list(texts)), dtype=np.float32)
        if m.ndim != 2 or len(m) != len(texts):
            raise ValidationError(f"the embedder returned shape {m.shape} for {len(texts)} texts")
        return m.tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _embeddings(embedding: Any) -> Embeddings:
    if isinstance(embedding, Embeddings):
        return embedding
    return ZerolagEmbeddings(embedding)


def _document(rec: MemoryRecord) -> Document:
    md = rec.metadata
    text = rec.value if isinstance(rec.value, str) else str(rec.value)
    return Document(
        id=rec.key, page_content=text, metadata=dict(md) if isinstance(md, dict) else {}
    )


def _matches(md: dict[str, Any], want: dict[str, Any]) -> bool:
    return all(k in md and md[k] == v for k, v in want.items())


class ZerolagVectorStore(VectorStore):
    """A LangChain vector store on ``hub.memory`` (module docs). ``embedding``: LangChain
    ``Embeddings`` or a zerolag embedder; ``collection``: the scope the documents live in
    (stores of different collections never see each other's documents); ``hybrid``: fuse
    keyword and vector search (default) or rank by vector similarity alone."""

    def __init__(
        self,
        hub: Hub,
        embedding: Any,
        *,
        collection: str = "langchain",
        hybrid: bool = True,
    ) -> None:
        if not isinstance(hub, Hub):
            raise ValidationError("ZerolagVectorStore needs a zerolag.Hub (zerolag.open(...))")
        self.hub = hub
        self.memory = hub.memory
        self.embedding = _embeddings(embedding)
        self.collection = collection
        self.scope = {"collection": collection}
        self.hybrid = hybrid
        self._space: str | None = None

    def __repr__(self) -> str:
        return f"ZerolagVectorStore(collection={self.collection!r}, hub={self.hub!r})"

    @property
    def embeddings(self) -> Embeddings:
        return self.embedding

    def _space_for(self, dim: int) -> str:
        name = f"langchain-{dim}"
        if self._space != name:
            self.memory.space(name, dim)
            self._space = name
        return name

    # ------------------------------------------------------------------ writes

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[Any, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embeds and stores ``texts`` in one atomic write; returns their ids (new UUIDs
        where ``ids`` gives none)."""
        texts = list(texts)
        if not texts:
            return []
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValidationError(f"{len(metadatas)} metadatas for {len(texts)} texts")
        if ids is not None and len(ids) != len(texts):
            raise ValidationError(f"{len(ids)} ids for {len(texts)} texts")
        given: list[str | None] = list(ids) if ids is not None else [None] * len(texts)
        out = [i if i else uuid.uuid4().hex for i in given]
        vectors = self.embedding.embed_documents(texts)
        space = self._space_for(len(vectors[0]))
        self.memory.remember_many(
            [
                {
                    "key": key,
                    "value": text,
                    "metadata": dict(metadatas[i]) if metadatas else {},
                    "embedding": vectors[i],
                    "space": space,
                    "scope": self.scope,
                }
                for i, (key, text) in enumerate(zip(out, texts, strict=True))
            ]
        )
        return out

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Deletes the documents ``ids`` (every version; missing ids are fine), or the whole
        collection when ``ids`` is None."""
        if ids is None:
            self.memory.forget_scope(self.scope)
            return True
        for key in ids:
            self.memory.purge(key, scope=self.scope)
        return True

    # ------------------------------------------------------------------ reads

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The documents of ``ids`` that exist, in that order."""
        out = []
        for key in ids:
            rec = self.memory.recall(key, scope=self.scope)
            if rec is not None:
                out.append(_document(rec))
        return out

    def _hits(
        self, query: str | None, vector: list[float], k: int, filter: dict[str, Any] | None
    ) -> list[MemoryHit]:
        if k < 1:
            return []
        space = self._space_for(len(vector))
        text = query if self.hybrid else None
        want = k if not filter else k * 4
        while True:
            hits = self.memory.search(text, vector, space=space, scope=self.scope, k=want)
            if filter:
                kept = [h for h in hits if _matches(_document(h.record).metadata, filter)]
            else:
                kept = hits
            if len(kept) >= k or len(hits) < want:
                return kept[:k]
            want *= 4  # a metadata filter is applied after ranking: fetch more

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The best ``k`` documents for ``query`` with their fused score (or cosine
        similarity with ``hybrid=False``); ``filter``: metadata equality."""
        hits = self._hits(query, self.embedding.embed_query(query), k, filter)
        return [(_document(h.record), self._score(h)) for h in hits]

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The best ``k`` documents for ``query`` (see :meth:`similarity_search_with_score`)."""
        return [d for d, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """The best ``k`` documents by vector similarity to ``embedding``."""
        hits = self._hits(None, list(embedding), k, filter)
        return [_document(h.record) for h in hits]

    def _similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        # Relevance in [0, 1]: the cosine similarity of the vector signal, clipped at 0.
        hits = self._hits(query, self.embedding.embed_query(query), k, kwargs.get("filter"))
        return [(_document(h.record), max(0.0, h.vector[0] if h.vector else 0.0)) for h in hits]

    def _score(self, hit: MemoryHit) -> float:
        if self.hybrid:
            return float(hit.score)
        return float(hit.vector[0]) if hit.vector else 0.0

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[Any, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        hub: Hub | None = None,
        **kwargs: Any,
    ) -> ZerolagVectorStore:
        """A store on ``hub`` (required) holding ``texts``."""
        if hub is None:
            raise ValidationError("ZerolagVectorStore.from_texts needs hub=zerolag.open(...)")
        store = cls(hub, embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store


class ZerolagMemoryRetriever(BaseRetriever):
    """Documents from ``hub.memory.search``: the text of the query for BM25, its embedding
    (when ``embedder`` is given) for vector similarity in ``space``, ``around`` for the
    entity graph; ``scope``, ``kinds``, ``categories``, ``as_of`` as in the search. ``k``
    documents (also ``invoke(query, k=...)``). A document's metadata carries the record's
    key, version, kind, category, score and valid time."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hub: Any
    k: int = 4
    embedder: Any = None
    space: str = "default"
    scope: dict[str, str] | None = None
    kinds: list[str] | None = None
    categories: list[str] | None = None
    around: str | None = None
    as_of: float | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        vector = None
        if self.embedder is not None:
            vector = _embeddings(self.embedder).embed_query(query)
        hits = self.hub.memory.search(
            query,
            vector,
            space=self.space,
            scope=self.scope,
            kinds=self.kinds,
            categories=self.categories,
            around=self.around,
            as_of=self.as_of,
            k=k,
        )
        out = []
        for h in hits:
            rec = h.record
            text = rec.value if isinstance(rec.value, str) else str(rec.value)
            md = dict(rec.metadata) if isinstance(rec.metadata, dict) else {}
            md.update(
                key=rec.key,
                version=rec.version,
                kind=rec.kind,
                category=rec.category,
                score=h.score,
                valid_from=rec.valid_from,
            )
            out.append(Document(id=rec.key, page_content=text, metadata=md))
        return out
