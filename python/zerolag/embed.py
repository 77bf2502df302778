"""Embedders for ``hub.memory``: plain callables ``texts -> numpy array``.

An *embedder* takes a sequence of texts and returns a float32 matrix with one row per text
(given a single ``str`` it returns one vector). Any callable of that shape works, e.g. a
sentence-transformers model's ``encode``. Two are included:

* :class:`HashingEmbedder`: deterministic and offline (feature hashing of words and character
  n-grams, in Rust). It downloads nothing, needs no model, and gives the same vector for the
  same text in every process; texts sharing words or word pieces come out close. For demos,
  tests and keyword-like similarity, not for meaning: paraphrases with no words in common are
  not close.
* :class:`OpenAIEmbeddings`: any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint
  (OpenAI, vLLM, llama.cpp server, Ollama, LM Studio, text-embeddings-inference, ...),
  standard library only, batched.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from . import _core
from .exceptions import ValidationError
from .llm import Endpoint, ModelError

__all__ = ["Embedder", "HashingEmbedder", "OpenAIEmbeddings"]

Vectors = npt.NDArray[np.float32]


class Embedder:
    """The shape of an embedder: ``embedder(texts) -> (len(texts), dim)`` float32 matrix,
    ``embedder(text) -> (dim,)`` vector. ``dim`` is the length of a vector when known."""

    dim: int | None = None

    @overload
    def __call__(self, texts: str) -> Vectors: ...
    @overload
    def __call__(self, texts: Sequence[str]) -> Vectors: ...
    def __call__(self, texts: str | Sequence[str]) -> Vectors:
        single = isinstance(texts, str)
        batch = [texts] if isinstance(texts, str) else list(texts)
        for i, t in enumerate(batch):
            if not isinstance(t, str):
                raise ValidationError(f"texts[{i}] must be str, not {type(t).__name__}")
        out = self._embed(batch)
        return out[0] if single else out

    def _embed(self, texts: list[str]) -> Vectors:
        raise NotImplementedError

    async def aembed(self, texts: str | Sequence[str]) -> Vectors:
        """The same on a thread, so the event loop keeps running."""
        return await asyncio.to_thread(self, texts)


class HashingEmbedder(Embedder):
    """Feature hashing of words and character n-grams into ``dim`` dimensions, unit rows.

    Each word (Unicode words, lowercased, common English stop words dropped) counts 1 and each
    character n-gram of the word with boundary marks (``<word>``, ``n`` from ``ngrams[0]`` to
    ``ngrams[1]``) counts 0.25; a feature's 64-bit FNV-1a hash picks a coordinate and a sign.
    ``ngrams=(0, 0)`` uses words only. A text without words gets one fixed vector. The
    mapping is fixed: a stored embedding stays valid across versions (a test pins it).
    Batches of 512 texts or more are split over the machine's cores; the GIL is released.
    """

    def __init__(self, dim: int = 384, *, ngrams: tuple[int, int] = (3, 5)) -> None:
        self.size = int(dim)
        self.dim = self.size
        self.ngrams = (int(ngrams[0]), int(ngrams[1]))
        _core.hash_embed([], self.size, *self.ngrams)  # checks the settings now

    def __repr__(self) -> str:
        return f"HashingEmbedder(dim={self.dim}, ngrams={self.ngrams})"

    def _embed(self, texts: list[str]) -> Vectors:
        return _core.hash_embed(texts, self.size, *self.ngrams)


class OpenAIEmbeddings(Endpoint, Embedder):
    """A client of an OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.

    ``model``: the model name (default ``$ZEROLAG_EMBEDDING_MODEL``). ``dimensions``: asks the
    endpoint for shorter vectors (models that support it); every answer is checked to have
    one length. ``batch_size``: texts per request. ``base_url``, ``api_key``, ``timeout``,
    ``headers`` and extra body fields as :class:`zerolag.llm.OpenAIChat`.

    Errors: :class:`zerolag.llm.ModelError` for an HTTP error status or an answer that is not
    a list of finite vectors of one length, one per text, :class:`zerolag.TimeoutError`,
    :class:`zerolag.ConnectionError`. The key never appears in ``repr`` or in errors.
    """

    env = ("ZEROLAG_EMBEDDING_MODEL",)

    def __init__(
        self,
        model: str | None = None,
        *,
        dimensions: int | None = None,
        batch_size: int = 256,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, **kwargs)
        if dimensions is not None and dimensions < 1:
            raise ValidationError(f"dimensions must be >= 1, got {dimensions}")
        if batch_size < 1:
            raise ValidationError(f"batch_size must be >= 1, got {batch_size}")
        self.dimensions = dimensions
        self.dim = dimensions
        self.batch_size = int(batch_size)

    def _embed(self, texts: list[str]) -> Vectors:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(self._request(texts[start : start + self.batch_size]))
        if not rows:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        out = np.asarray(rows, dtype=np.float32)
        self.dim = out.shape[1]
        return out

    def _request(self, batch: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"model": self.model, "input": batch, **self.options}
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        data = self._post("/embeddings", body, "embeddings")
        url = self.base_url + "/embeddings"
        try:
            items = sorted(data["data"], key=lambda d: d["index"])
            rows = [[float(x) for x in d["embedding"]] for d in items]
        except (KeyError, TypeError, ValueError):
            raise ModelError(
                f"{url} did not answer with embeddings", body=str(data)[:2000]
            ) from None
        if len(rows) != len(batch):
            raise ModelError(f"{url} answered {len(rows)} embeddings for {len(batch)} texts")
        want = self.dim or (len(rows[0]) if rows else 0)
        for r in rows:
            if len(r) != want or want == 0:
                raise ModelError(f"{url} answered embeddings of {len(r)} values, expected {want}")
            if not all(math.isfinite(x) for x in r):
                raise ModelError(f"{url} answered an embedding with NaN or infinity")
        return rows
