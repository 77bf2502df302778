"""``hub.cache`` in Python: the ``cached`` decorator with single flight, and LLM responses.

The store operations (``get``, ``set``, ``invalidate_tag``, ...) are the native ``hub.cache``
(:class:`zerolag.Cache`); this module builds on them (docs/cache.md):

* :func:`cached` (also ``hub.cache.cached``): caches what a sync or async function returns,
  keyed by a stable hash of its qualified name and arguments (:func:`function_key`) or by the
  caller's ``key=`` callable. **Single flight**: concurrent misses on one key compute once, in
  the threads and asyncio tasks of a process (they wait for the first) and across processes
  sharing the store (the first takes a lease in the store; the others poll until the value
  appears, or until the lease expires and one of them takes it over).
* :class:`LlmCache` (``hub.cache.llm``) and :func:`cached_model`: responses of language
  models keyed by :func:`llm_key`, a SHA-256 over the canonical JSON of the model name, the
  normalised messages and the parameters that change the answer; a cached model is a model
  for :class:`zerolag.DualLoop` like any other (``messages -> str``, with ``acomplete``).
* Semantic mode (``hub.cache.llm.semantic(embedder)``, ``cached_model(..., semantic=embedder)``):
  on an exact miss, the nearest cached prompt of the same scope (model, the parameters that
  change the answer, the conversation before the last user message, the embedder) within a
  cosine-similarity threshold answers, and the match (:class:`LlmMatch`) reports its
  similarity. The vector search is the native ``hub.cache.match`` (docs/cache.md).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
import secrets
import threading
import time
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from . import llm
from ._core import AsyncCache, Cache
from .exceptions import ValidationError

__all__ = [
    "ANSWER_NEUTRAL_PARAMS",
    "DEFAULT_THRESHOLD",
    "LEASE_SECONDS",
    "CachedModel",
    "LlmCache",
    "LlmMatch",
    "cached",
    "cached_model",
    "function_key",
    "llm_key",
    "normalise_messages",
    "semantic_request",
]

#: The default cosine-similarity threshold of semantic lookups. Measured with the offline
#: ``HashingEmbedder`` on ``bench/data/paraphrases.jsonl`` (docs/cache.md has the table and how
#: to measure it again with a real embedding model, which separates paraphrases better).
DEFAULT_THRESHOLD = 0.9

#: How long a single-flight lease lasts (seconds): a process that took it and died holds the
#: key that long at most; then a waiter takes it over and computes itself.
LEASE_SECONDS = 30.0
_POLL_FIRST, _POLL_MAX = 0.002, 0.05

F = TypeVar("F", bound=Callable[..., Any])
AnyCache: TypeAlias = Cache | AsyncCache


# ------------------------------------------------------------------------------------------
# Keys
# ------------------------------------------------------------------------------------------


def _plain(obj: Any) -> Any:
    """``obj`` as plain JSON data for hashing: tuples as lists, sets sorted, bytes tagged."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            return {"__float__": repr(obj)}
        return obj
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"__bytes__": bytes(obj).hex()}
    if isinstance(obj, Mapping):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("mapping keys must be str")
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(x) for x in obj]
    if isinstance(obj, set | frozenset):
        return sorted((_plain(x) for x in obj), key=_canonical)
    raise TypeError(f"{type(obj).__name__} has no stable representation")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(obj: Any) -> str:
    return hashlib.sha256(_canonical(obj).encode("utf-8", "surrogatepass")).hexdigest()


def _short(name: str, n: int = 200) -> str:
    return name if len(name.encode()) <= n else name.encode()[:n].decode("utf-8", "ignore")


def function_key(fn: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """The cache key of ``fn(*args, **kwargs)``: ``fn:<module>.<qualname>:<sha256>``, the hash
    over the canonical JSON of the arguments bound to ``fn``'s signature with its defaults
    applied (so ``f(1)``, ``f(x=1)`` and ``f(1, y=<default>)`` share a key). Arguments must be
    JSON-like (None, bool, int, float, str, bytes, lists, tuples, sets, dicts with str keys);
    anything else is a ValidationError asking for ``key=``."""
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        data: Any = {"args": bound.arguments}
    except (TypeError, ValueError):
        data = {"args": list(args), "kwargs": dict(kwargs)}
    try:
        plain = _plain(data)
    except TypeError as e:
        raise ValidationError(
            f"cannot hash the arguments of {name} for a cache key ({e}): pass key=",
            argument="key",
        ) from None
    return f"fn:{_short(name)}:{_digest(plain)}"


# ------------------------------------------------------------------------------------------
# Single flight
# ------------------------------------------------------------------------------------------

_lock = threading.Lock()
_threads: dict[tuple[str, str], threading.Event] = {}
_tasks: dict[tuple[int, str, str], asyncio.Future[None]] = {}


def _ident(cache: AnyCache, key: str) -> tuple[str, str]:
    return (repr(cache), key)


def _lead(
    cache: Cache,
    key: str,
    compute: Callable[[], Any],
    ttl: float | None,
    tags: Sequence[str],
    lease: float,
    fill: Mapping[str, Any] | None = None,
) -> Any:
    """Takes the key's lease in the store (or waits for whoever holds it) and computes;
    ``fill``: more arguments of the write (a semantic entry's scope and embedding)."""
    token = secrets.token_hex(8)
    delay = _POLL_FIRST
    while True:
        hit, value, leased = cache._lookup(key, lease, token, False)
        if hit:
            return value
        if leased:
            try:
                value = compute()
                cache._fill(key, value, ttl=ttl, tags=tags, token=token, **(fill or {}))
            except BaseException:
                cache._release(key, token)
                raise
            return value
        time.sleep(delay)
        delay = min(delay * 2, _POLL_MAX)


def _flight(
    cache: Cache,
    key: str,
    compute: Callable[[], Any],
    ttl: float | None,
    tags: Sequence[str],
    lease: float,
    fill: Mapping[str, Any] | None = None,
    first: bool = True,
) -> Any:
    """The value at ``key``, computed once by this process's threads and across processes
    (``first``: read it before taking part; False when the caller just did)."""
    if first:
        hit, value, _ = cache._lookup(key)
        if hit:
            return value
    ident = _ident(cache, key)
    while True:
        with _lock:
            ev = _threads.get(ident)
            leader = ev is None
            if ev is None:
                ev = _threads[ident] = threading.Event()
        if not leader:
            ev.wait(lease)
            hit, value, _ = cache._lookup(key, None, None, False)
            if hit:
                return value
            continue  # the leader failed: lead now
        try:
            return _lead(cache, key, compute, ttl, tags, lease, fill)
        finally:
            with _lock:
                _threads.pop(ident, None)
            ev.set()


async def _await(x: Any) -> Any:
    return await x if inspect.isawaitable(x) else x


async def _alead(
    cache: AnyCache,
    key: str,
    compute: Callable[[], Awaitable[Any]],
    ttl: float | None,
    tags: Sequence[str],
    lease: float,
    fill: Mapping[str, Any] | None = None,
) -> Any:
    token = secrets.token_hex(8)
    delay = _POLL_FIRST
    while True:
        hit, value, leased = await _await(cache._lookup(key, lease, token, False))
        if hit:
            return value
        if leased:
            try:
                value = await compute()
                await _await(
                    cache._fill(key, value, ttl=ttl, tags=tags, token=token, **(fill or {}))
                )
            except BaseException:
                await _await(cache._release(key, token))
                raise
            return value
        await asyncio.sleep(delay)
        delay = min(delay * 2, _POLL_MAX)


async def _aflight(
    cache: AnyCache,
    key: str,
    compute: Callable[[], Awaitable[Any]],
    ttl: float | None,
    tags: Sequence[str],
    lease: float,
    fill: Mapping[str, Any] | None = None,
    first: bool = True,
) -> Any:
    """:func:`_flight` for asyncio tasks (one leader per event loop, key and store)."""
    if first:
        hit, value, _ = await _await(cache._lookup(key))
        if hit:
            return value
    loop = asyncio.get_running_loop()
    ident = (id(loop), *_ident(cache, key))
    while True:
        fut = _tasks.get(ident)
        if fut is not None:
            try:
                await asyncio.wait_for(asyncio.shield(fut), lease)
            except Exception:  # the leader's failure or a timeout: read, then lead if need be
                pass
            hit, value, _ = await _await(cache._lookup(key, None, None, False))
            if hit:
                return value
            continue
        fut = _tasks[ident] = loop.create_future()
        try:
            return await _alead(cache, key, compute, ttl, tags, lease, fill)
        finally:
            _tasks.pop(ident, None)
            if not fut.done():
                fut.set_result(None)


def cached(
    cache: AnyCache,
    fn: F | None = None,
    *,
    ttl: float | None = None,
    tags: Iterable[str] = (),
    key: Callable[..., str] | None = None,
    lease: float = LEASE_SECONDS,
) -> Any:
    """Caches what ``fn`` returns in ``cache`` (``hub.cache.cached`` passes its own), for
    ``ttl`` seconds (None: until evicted or invalidated), tagged ``tags``; the key is
    ``key(*args, **kwargs)`` when given, else :func:`function_key`. Works on sync and async
    functions (an async hub's cache needs an async function). Results must be what
    ``hub.cache`` stores: bytes, str or a JSON value (None included). Use as ``@cached(c)``,
    ``@cached(c, ttl=60)`` or ``cached(c, fn)``. The wrapper has ``cache_key(*args,
    **kwargs)``."""
    tag_list = tuple(tags)
    if lease <= 0:
        raise ValidationError(f"lease must be > 0 seconds, got {lease}", argument="lease")

    def deco(f: F) -> F:
        if not callable(f):
            raise TypeError("cached() decorates a function")

        def make_key(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
            if key is None:
                return function_key(f, args, kwargs)
            k = key(*args, **kwargs)
            if not isinstance(k, str):
                raise ValidationError(
                    f"key= must return str, got {type(k).__name__}", argument="key"
                )
            return k

        if inspect.iscoroutinefunction(f):

            @functools.wraps(f)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                return await _aflight(
                    cache, make_key(args, kwargs), lambda: f(*args, **kwargs), ttl, tag_list, lease
                )

            awrapper.cache_key = lambda *a, **kw: make_key(a, kw)  # type: ignore[attr-defined]
            return awrapper  # type: ignore[return-value]
        if isinstance(cache, AsyncCache):
            raise TypeError(
                "an async hub's cache caches async functions; use a sync hub for a sync one"
            )
        sync_cache: Cache = cache

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return _flight(
                sync_cache, make_key(args, kwargs), lambda: f(*args, **kwargs), ttl, tag_list, lease
            )

        wrapper.cache_key = lambda *a, **kw: make_key(a, kw)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco if fn is None else deco(fn)


# ------------------------------------------------------------------------------------------
# LLM responses
# ------------------------------------------------------------------------------------------

#: Parameters that do not change a model's answer, left out of :func:`llm_key`: transport,
#: credentials and bookkeeping. Every other parameter (temperature, top_p, max_tokens, stop,
#: seed, tools, tool_choice, response_format, n, penalties, logit_bias, ...) is part of it.
ANSWER_NEUTRAL_PARAMS = frozenset(
    {
        "api_key",
        "base_url",
        "headers",
        "extra_headers",
        "timeout",
        "request_timeout",
        "max_retries",
        "stream",
        "stream_options",
        "user",
        "metadata",
        "store",
    }
)


def _text(s: str) -> str:
    return unicodedata.normalize("NFC", s.replace("\r\n", "\n")).strip()


def normalise_messages(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages as :func:`llm_key` hashes them: roles trimmed and lower-cased, text contents
    NFC-normalised with ``\\r\\n`` as ``\\n`` and outer whitespace trimmed (also the text
    parts of a list content), fields that are None dropped, other fields kept as given."""
    out = []
    for m in messages:
        if not isinstance(m, Mapping):
            raise ValidationError(
                "each message is a mapping with role and content", argument="messages"
            )
        n: dict[str, Any] = {}
        for k, v in m.items():
            if v is None:
                continue
            if k == "role" and isinstance(v, str):
                v = v.strip().lower()
            elif k == "content" and isinstance(v, str):
                v = _text(v)
            elif k == "content" and isinstance(v, list):
                v = [
                    {**p, "text": _text(p["text"])}
                    if isinstance(p, Mapping) and isinstance(p.get("text"), str)
                    else p
                    for p in v
                ]
            n[str(k)] = v
        out.append(n)
    return out


def llm_key(model: str, messages: Iterable[Mapping[str, Any]], **params: Any) -> str:
    """``llm:<model>:<sha256>``: the hash over the canonical JSON (sorted keys, no spaces) of
    ``{"v": 1, "model", "messages": normalise_messages(...), "params"}``, the parameters
    without :data:`ANSWER_NEUTRAL_PARAMS` and without those that are None. The model name in
    the key lets ``invalidate_prefix("llm:<model>:")`` drop one model's responses."""
    if not isinstance(model, str) or not model:
        raise ValidationError("model is a non-empty model name", argument="model")
    kept = {k: v for k, v in params.items() if k not in ANSWER_NEUTRAL_PARAMS and v is not None}
    try:
        data = _plain(
            {"v": 1, "model": model, "messages": normalise_messages(messages), "params": kept}
        )
    except TypeError as e:
        raise ValidationError(f"cannot hash the request for a cache key: {e}") from None
    return f"llm:{_short(model)}:{_digest(data)}"


Embed: TypeAlias = Callable[[Any], Any]


@dataclass(frozen=True)
class LlmMatch:
    """What a lookup of :class:`LlmCache` or :class:`CachedModel` found: the cached
    ``response``, the ``key`` of the entry that answered, the cosine ``similarity`` of its
    prompt to the asked one (1.0 for an exact hit) and whether the hit was ``exact``."""

    response: Any
    key: str
    similarity: float
    exact: bool


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)
        )
    return "" if content is None else str(content)


def _embedder_id(embedder: Any) -> str:
    kind = type(embedder)
    if callable(embedder) and kind.__name__ in ("function", "method", "builtin_function_or_method"):
        kind_name = (
            f"{getattr(embedder, '__module__', '?')}.{getattr(embedder, '__qualname__', '?')}"
        )
    else:
        kind_name = f"{kind.__module__}.{kind.__qualname__}"
    return _canonical(
        {
            "kind": kind_name,
            "model": str(getattr(embedder, "model", "") or ""),
            "dim": str(getattr(embedder, "dim", "") or ""),
            "ngrams": str(getattr(embedder, "ngrams", "") or ""),
        }
    )


def semantic_request(
    model: str, messages: Iterable[Mapping[str, Any]], embedder: Any = None, **params: Any
) -> tuple[str, str]:
    """``(scope, text)`` of a request for a semantic lookup. ``text`` is the last user
    message's text (normalised as :func:`normalise_messages` does; the whole conversation's
    text when there is no user message), the part that is embedded. ``scope`` is
    ``<model>:<sha256>`` over the model, the parameters that change the answer (as in
    :func:`llm_key`), every message before that last user message and the embedder's
    identity: only prompts asked in the same scope can answer each other."""
    if not isinstance(model, str) or not model:
        raise ValidationError("model is a non-empty model name", argument="model")
    msgs = normalise_messages(messages)
    last = max((i for i, m in enumerate(msgs) if m.get("role") == "user"), default=None)
    if last is None:
        text, context = "\n".join(_content_text(m.get("content")) for m in msgs), []
    else:
        text, context = _content_text(msgs[last].get("content")), msgs[:last]
    kept = {k: v for k, v in params.items() if k not in ANSWER_NEUTRAL_PARAMS and v is not None}
    try:
        data = _plain(
            {
                "v": 1,
                "model": model,
                "params": kept,
                "context": context,
                "embedder": "" if embedder is None else _embedder_id(embedder),
            }
        )
    except TypeError as e:
        raise ValidationError(f"cannot hash the request for a cache scope: {e}") from None
    return f"{_short(model, 120)}:{_digest(data)}", text


def _vector(embedder: Embed, text: str) -> Any:
    """One embedding of ``text`` from ``embedder`` (``texts -> matrix`` or ``text -> vector``,
    or a LangChain ``Embeddings``), as a float32 vector."""
    import numpy as np  # here, not at import: `import zerolag` does not load numpy

    if hasattr(embedder, "embed_query"):
        out = np.asarray(embedder.embed_query(text), dtype=np.float32)
    else:
        out = np.asarray(embedder([text]), dtype=np.float32)
    if out.ndim == 2 and out.shape[0] == 1:
        out = out[0]
    if out.ndim != 1:
        raise ValidationError(
            f"the embedder returned an array of shape {out.shape} for one text", argument="embedder"
        )
    return out


async def _avector(embedder: Embed, text: str) -> Any:
    aq = getattr(embedder, "aembed_query", None)
    if aq is not None:
        import numpy as np

        return np.asarray(await aq(text), dtype=np.float32)
    return await asyncio.to_thread(_vector, embedder, text)


def _check_threshold(threshold: float) -> float:
    t = float(threshold)
    if not -1.0 <= t <= 1.0:
        raise ValidationError(
            f"threshold is a cosine similarity from -1.0 to 1.0, got {threshold}",
            argument="threshold",
        )
    return t


class LlmCache:
    """Responses of language models in a hub's cache (``hub.cache.llm``). Exact by default;
    :meth:`semantic` gives the same cache in semantic mode (an ``embedder``, a threshold)."""

    def __init__(
        self,
        cache: AnyCache,
        embedder: Embed | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        if embedder is not None and not callable(embedder) and not hasattr(embedder, "embed_query"):
            raise ValidationError(
                "embedder must be callable(texts) -> array or a LangChain Embeddings",
                argument="embedder",
            )
        self.cache = cache
        self.embedder = embedder
        self.threshold = _check_threshold(threshold)

    def __repr__(self) -> str:
        mode = "" if self.embedder is None else f", semantic={self.embedder!r}"
        return f"LlmCache({self.cache!r}{mode})"

    def semantic(self, embedder: Embed, *, threshold: float = DEFAULT_THRESHOLD) -> LlmCache:
        """This cache in semantic mode: on an exact miss, the nearest cached prompt of the
        same scope (:func:`semantic_request`) whose embedding by ``embedder`` is at least
        ``threshold`` similar (cosine) answers."""
        return LlmCache(self.cache, embedder, threshold=threshold)

    def key(self, model: str, messages: Iterable[Mapping[str, Any]], **params: Any) -> str:
        """See :func:`llm_key`."""
        return llm_key(model, messages, **params)

    def get(self, model: str, messages: Iterable[Mapping[str, Any]], **params: Any) -> Any:
        """The cached response, or None (an awaitable on an async hub). In semantic mode a
        similar prompt's response counts (see :meth:`lookup` for the similarity)."""
        if self.embedder is None:
            return self.cache.get(llm_key(model, messages, **params))
        if isinstance(self.cache, AsyncCache):
            return self._aget(model, list(messages), params)
        m = self._lookup(self.cache, model, list(messages), params)
        return None if m is None else m.response

    async def _aget(self, model: str, messages: list[Any], params: dict[str, Any]) -> Any:
        m = await self._alookup(model, messages, params)
        return None if m is None else m.response

    def lookup(
        self, model: str, messages: Iterable[Mapping[str, Any]], **params: Any
    ) -> LlmMatch | None | Awaitable[LlmMatch | None]:
        """What answers the request: an :class:`LlmMatch` (exact, or in semantic mode the
        nearest similar prompt with its similarity), or None (an awaitable on an async hub)."""
        messages = list(messages)
        if isinstance(self.cache, AsyncCache):
            return self._alookup(model, messages, params)
        return self._lookup(self.cache, model, messages, params)

    def _lookup(
        self, cache: Cache, model: str, messages: list[Any], params: dict[str, Any]
    ) -> LlmMatch | None:
        key = llm_key(model, messages, **params)
        hit, value, _ = cache._lookup(key)
        if hit:
            return LlmMatch(value, key, 1.0, True)
        if self.embedder is None:
            return None
        scope, text = semantic_request(model, messages, self.embedder, **params)
        m = cache.match(scope, _vector(self.embedder, text), threshold=self.threshold)
        return None if m is None else LlmMatch(m.value, m.key, m.similarity, False)

    async def _alookup(
        self, model: str, messages: list[Any], params: dict[str, Any]
    ) -> LlmMatch | None:
        key = llm_key(model, messages, **params)
        hit, value, _ = await _await(self.cache._lookup(key))
        if hit:
            return LlmMatch(value, key, 1.0, True)
        if self.embedder is None:
            return None
        scope, text = semantic_request(model, messages, self.embedder, **params)
        vec = await _avector(self.embedder, text)
        m = await _await(self.cache.match(scope, vec, threshold=self.threshold))
        return None if m is None else LlmMatch(m.value, m.key, m.similarity, False)

    def set(
        self,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        response: str,
        *,
        ttl: float | None = 3600.0,
        tags: Iterable[str] = (),
        **params: Any,
    ) -> Any:
        """Caches ``response`` (an awaitable on an async hub); in semantic mode with the
        prompt's embedding, so similar prompts find it."""
        messages = list(messages)
        key = llm_key(model, messages, **params)
        if self.embedder is None:
            return self.cache.set(key, response, ttl=ttl, tags=tuple(tags))
        scope, text = semantic_request(model, messages, self.embedder, **params)
        if isinstance(self.cache, AsyncCache):
            return self._aset(key, response, scope, text, ttl, tuple(tags))
        vec = _vector(self.embedder, text)
        return self.cache.set_semantic(
            key, response, scope=scope, embedding=vec, ttl=ttl, tags=tuple(tags)
        )

    async def _aset(
        self,
        key: str,
        response: Any,
        scope: str,
        text: str,
        ttl: float | None,
        tags: tuple[str, ...],
    ) -> None:
        assert self.embedder is not None
        vec = await _avector(self.embedder, text)
        await _await(
            self.cache.set_semantic(key, response, scope=scope, embedding=vec, ttl=ttl, tags=tags)
        )

    def wrap(
        self,
        model: llm.Model,
        *,
        ttl: float | None = 3600.0,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        lease: float = LEASE_SECONDS,
    ) -> CachedModel:
        """``model`` with its responses cached here (in this cache's mode): see
        :class:`CachedModel`."""
        return CachedModel(
            model,
            self.cache,
            ttl=ttl,
            name=name,
            params=params,
            tags=tags,
            lease=lease,
            semantic=self.embedder,
            threshold=self.threshold,
        )


def _model_name(model: Any) -> str:
    name = getattr(model, "model", None)
    if isinstance(name, str) and name:
        return name
    inner = getattr(model, "__wrapped__", model)
    qualname = getattr(inner, "__qualname__", type(inner).__qualname__)
    return f"{getattr(inner, '__module__', '?')}.{qualname}"


class CachedModel:
    """A model (``messages -> str``) whose responses are cached: the second identical request
    is answered from the cache without calling the model, and concurrent identical requests
    call it once (single flight). ``name``: the model name in the key (default: ``model.model``
    as :class:`zerolag.llm.OpenAIChat` has it, else the callable's qualified name);
    ``params``: parameters that change the answer (default: an ``OpenAIChat``'s ``options``).
    ``semantic``: an embedder (``texts -> array``, e.g. :class:`zerolag.embed.HashingEmbedder`,
    or a LangChain ``Embeddings``): on an exact miss, a similar enough earlier prompt of the same
    scope answers (``threshold``: cosine similarity). ``last_match`` is the latest call's
    :class:`LlmMatch` (None when the model answered). Usable wherever :mod:`zerolag.llm` models
    are, e.g. as DualLoop's ``frontend``."""

    def __init__(
        self,
        model: llm.Model,
        cache: AnyCache,
        *,
        ttl: float | None = 3600.0,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        lease: float = LEASE_SECONDS,
        semantic: Embed | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        if not callable(model):
            raise ValidationError("model must be callable(messages) -> str", argument="model")
        self.model = model
        self.cache = cache
        self.ttl = ttl
        self.name = name or _model_name(model)
        opts = getattr(model, "options", None)
        self.params = dict(
            params if params is not None else opts if isinstance(opts, Mapping) else {}
        )
        self.tags = tuple(tags)
        self.lease = lease
        self.blocking = getattr(model, "blocking", True)
        self.llm = LlmCache(cache, semantic, threshold=threshold)
        self.last_match: LlmMatch | None = None

    @property
    def semantic(self) -> Embed | None:
        """The embedder of semantic mode (None: exact only)."""
        return self.llm.embedder

    def __repr__(self) -> str:
        mode = "" if self.semantic is None else f", semantic={self.semantic!r}"
        return f"CachedModel({self.model!r}, name={self.name!r}, ttl={self.ttl}{mode})"

    def key(self, messages: Iterable[Mapping[str, Any]]) -> str:
        """The cache key of ``messages``."""
        return llm_key(self.name, messages, **self.params)

    def __call__(self, messages: list[dict[str, str]]) -> Any:
        """The response to ``messages``: from the cache, else from the model (then cached).
        With an async hub's cache it returns a coroutine (use :meth:`acomplete`)."""
        if isinstance(self.cache, AsyncCache):
            return self.acomplete(messages)
        key = self.key(messages)
        fill: dict[str, Any] | None = None
        if self.semantic is not None:
            hit, value, _ = self.cache._lookup(key)
            if hit:
                self.last_match = LlmMatch(value, key, 1.0, True)
                return value
            scope, text = semantic_request(self.name, messages, self.semantic, **self.params)
            vec = _vector(self.semantic, text)
            m = self.cache.match(scope, vec, threshold=self.llm.threshold)
            if m is not None:
                self.last_match = LlmMatch(m.value, m.key, m.similarity, False)
                return m.value
            fill = {"scope": scope, "embedding": vec}
        hits: list[bool] = []

        def compute() -> str:
            hits.append(False)
            return llm.complete(self.model, messages)

        out = _flight(
            self.cache,
            key,
            compute,
            self.ttl,
            self.tags,
            self.lease,
            fill,
            first=fill is None,
        )
        self.last_match = None if hits else LlmMatch(out, key, 1.0, True)
        return out

    async def acomplete(self, messages: list[dict[str, str]]) -> str:
        """:meth:`__call__` without blocking the event loop (the model through
        :func:`zerolag.llm.acomplete`)."""
        key = self.key(messages)
        fill: dict[str, Any] | None = None
        if self.semantic is not None:
            hit, value, _ = await _await(self.cache._lookup(key))
            if hit:
                self.last_match = LlmMatch(value, key, 1.0, True)
                return str(value)
            scope, text = semantic_request(self.name, messages, self.semantic, **self.params)
            vec = await _avector(self.semantic, text)
            m = await _await(self.cache.match(scope, vec, threshold=self.llm.threshold))
            if m is not None:
                self.last_match = LlmMatch(m.value, m.key, m.similarity, False)
                return str(m.value)
            fill = {"scope": scope, "embedding": vec}
        hits: list[bool] = []

        async def compute() -> str:
            hits.append(False)
            return await llm.acomplete(self.model, messages)

        out: str = await _aflight(
            self.cache, key, compute, self.ttl, self.tags, self.lease, fill, first=fill is None
        )
        self.last_match = None if hits else LlmMatch(out, key, 1.0, True)
        return out


def cached_model(
    model: llm.Model,
    ttl: float | None = 3600.0,
    hub: Any = None,
    *,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
    lease: float = LEASE_SECONDS,
    semantic: Embed | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> CachedModel:
    """``model`` with its responses cached in ``hub.cache`` (a :class:`zerolag.Hub` or
    :class:`zerolag.AsyncHub`) for ``ttl`` seconds, in semantic mode with an embedder
    ``semantic`` (see :class:`CachedModel`)."""
    if hub is None:
        raise ValidationError(
            "cached_model needs hub=: the hub whose cache keeps the responses", argument="hub"
        )
    return CachedModel(
        model,
        hub.cache,
        ttl=ttl,
        name=name,
        params=params,
        tags=tags,
        lease=lease,
        semantic=semantic,
        threshold=threshold,
    )
