"""LangChain on zerolag (``pip install zerolag[langchain]``): an LLM cache and a key-value
store, on every backend (embedded, Redis, Redis Cluster), passing LangChain's own standard
tests (``langchain-tests``).

* :class:`ZerolagCache` (``langchain_core.caches.BaseCache``) on ``hub.cache``: one entry per
  (prompt, llm_string), the generations stored as JSON (text generations by their text, chat
  generations by their message as ``message_to_dict`` gives it: data, never objects to
  import, so a shared store cannot make a reader load arbitrary classes); ``ttl`` seconds to
  live; ``clear()`` invalidates the cache's tag in O(1)::

      from langchain_core.globals import set_llm_cache
      set_llm_cache(ZerolagCache(zerolag.open("redis://localhost:6379"), ttl=3600))

* :class:`ZerolagSemanticCache` (``BaseCache``): the same entries found by meaning: on
  ``lookup`` the prompt is embedded (a LangChain ``Embeddings`` or a plain callable
  ``texts -> array`` such as :class:`zerolag.embed.HashingEmbedder`) and the nearest cached
  prompt of the same ``llm_string`` within a cosine-similarity ``threshold`` answers
  (``hub.cache.match``: plain Redis, Redis Cluster or the embedded store, no Redis modules);
  ``last_match`` reports the similarity of the latest lookup's hit::

      set_llm_cache(ZerolagSemanticCache(hub, HashingEmbedder(), threshold=0.8))

* :class:`ZerolagStore` (``langchain_core.stores.BaseStore[str, bytes]``) on ``hub.kv``:
  values are bytes, keys any text (under an optional ``prefix``), ``yield_keys(prefix=)``
  in key order.

* :class:`ZerolagVectorStore`, :class:`ZerolagMemoryRetriever` and :class:`ZerolagEmbeddings`:
  retrieval on ``hub.memory`` (in :mod:`.langchain_retrieval`).
* :class:`ZerolagChatMessageHistory` (``langchain_core.chat_history.BaseChatMessageHistory``)
  on ``hub.chat``: one conversation per session, messages kept faithfully (type, content
  including lists of content blocks, additional_kwargs, tool calls, ids, names), the newest
  1,000 kept unless ``hub.chat.configure(max_len=...)`` says otherwise::

      RunnableWithMessageHistory(chain, lambda sid: ZerolagChatMessageHistory(hub, sid))

All take a sync :class:`zerolag.Hub` (their async methods call it directly: each call
releases the GIL and is one store round trip) or an :class:`zerolag.AsyncHub` (async methods
only; the sync ones raise TypeError).
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

try:
    from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
    from langchain_core.chat_history import BaseChatMessageHistory
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        message_to_dict,
        messages_from_dict,
    )
    from langchain_core.outputs import ChatGeneration, Generation
    from langchain_core.stores import BaseStore
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "zerolag.integrations.langchain needs langchain-core: pip install 'zerolag[langchain]'"
    ) from e

from .._core import AsyncHub, ChatEntry, Hub, SemanticMatch
from ..cache import DEFAULT_THRESHOLD, _avector, _check_threshold, _embedder_id, _vector
from .langchain_retrieval import ZerolagEmbeddings, ZerolagMemoryRetriever, ZerolagVectorStore

__all__ = [
    "ZerolagCache",
    "ZerolagChatMessageHistory",
    "ZerolagEmbeddings",
    "ZerolagMemoryRetriever",
    "ZerolagSemanticCache",
    "ZerolagStore",
    "ZerolagVectorStore",
]


def _sync(hub: Any, what: str) -> Any:
    if isinstance(hub, AsyncHub):
        raise TypeError(f"{what} on an AsyncHub: use the async method (a{what})")
    return hub


async def _await(x: Any) -> Any:
    return await x if inspect.isawaitable(x) else x


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()


class ZerolagCache(BaseCache):
    """LangChain's LLM cache on ``hub.cache``. ``ttl``: seconds an entry lives (None: until
    evicted or cleared). ``tag``: the cache tag of every entry, which ``clear()`` invalidates
    (use one per logical cache sharing a namespace). Keys are ``<prefix><sha256 of the
    llm_string>:<sha256 of the prompt>``."""

    def __init__(
        self,
        hub: Hub | AsyncHub,
        *,
        ttl: float | None = None,
        tag: str = "langchain",
        prefix: str = "lc:",
    ) -> None:
        self.hub = hub
        self.ttl = ttl
        self.tag = tag
        self.prefix = prefix

    def _key(self, prompt: str, llm_string: str) -> str:
        return f"{self.prefix}{_sha(llm_string)}:{_sha(prompt)}"

    @staticmethod
    def _load(raw: Any) -> RETURN_VAL_TYPE | None:
        if not isinstance(raw, list):
            return None
        out: list[Generation] = []
        for d in raw:
            if d.get("kind") == "chat":
                msg = messages_from_dict([d["message"]])[0]
                out.append(ChatGeneration(message=msg, generation_info=d.get("info")))
            else:
                out.append(Generation(text=d["text"], generation_info=d.get("info")))
        return out

    @staticmethod
    def _dump(return_val: RETURN_VAL_TYPE) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for g in return_val:
            if isinstance(g, ChatGeneration):
                out.append(
                    {
                        "kind": "chat",
                        "message": message_to_dict(g.message),
                        "info": g.generation_info,
                    }
                )
            else:
                out.append({"kind": "text", "text": g.text, "info": g.generation_info})
        return out

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """The cached generations of ``prompt`` under ``llm_string``, or None."""
        return self._load(_sync(self.hub, "lookup").cache.get(self._key(prompt, llm_string)))

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Caches ``return_val``."""
        _sync(self.hub, "update").cache.set(
            self._key(prompt, llm_string), self._dump(return_val), ttl=self.ttl, tags=[self.tag]
        )

    def clear(self, **kwargs: Any) -> None:
        """Invalidates every entry of this cache (its tag), atomically."""
        _sync(self.hub, "clear").cache.invalidate_tag(self.tag)

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """:meth:`lookup` for asyncio code."""
        return self._load(await _await(self.hub.cache.get(self._key(prompt, llm_string))))

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """:meth:`update` for asyncio code."""
        await _await(
            self.hub.cache.set(
                self._key(prompt, llm_string),
                self._dump(return_val),
                ttl=self.ttl,
                tags=[self.tag],
            )
        )

    async def aclear(self, **kwargs: Any) -> None:
        """:meth:`clear` for asyncio code."""
        await _await(self.hub.cache.invalidate_tag(self.tag))


class ZerolagSemanticCache(BaseCache):
    """LangChain's LLM cache found by meaning, on ``hub.cache`` (docs/cache.md). ``embedding``:
    a LangChain ``Embeddings`` (``embed_query``/``aembed_query``) or a callable ``texts ->
    array``. A lookup embeds the prompt and returns the generations cached for the most
    similar prompt of the same ``llm_string`` if its cosine similarity is at least
    ``threshold`` (``last_match``: that hit's :class:`zerolag.SemanticMatch`, None after a
    miss). ``ttl``, ``tag`` (which ``clear()`` invalidates) and ``prefix`` as for
    :class:`ZerolagCache`; entries are ordinary cache entries, so TTL, tags and prefix
    deletes apply to them."""

    def __init__(
        self,
        hub: Hub | AsyncHub,
        embedding: Any,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        ttl: float | None = None,
        tag: str = "langchain-semantic",
        prefix: str = "lcs:",
    ) -> None:
        if not callable(embedding) and not hasattr(embedding, "embed_query"):
            raise TypeError("embedding must be a LangChain Embeddings or callable(texts) -> array")
        self.hub = hub
        self.embedding = embedding
        self.threshold = _check_threshold(threshold)
        self.ttl = ttl
        self.tag = tag
        self.prefix = prefix
        self.last_match: SemanticMatch | None = None
        self._emb_id = _sha(_embedder_id(embedding))[:16]

    def _key(self, prompt: str, llm_string: str) -> str:
        return f"{self.prefix}{_sha(llm_string)}:{_sha(prompt)}"

    def _scope(self, llm_string: str) -> str:
        return f"{self.prefix}{_sha(self.tag)[:16]}:{self._emb_id}:{_sha(llm_string)}"

    def _found(self, m: SemanticMatch | None) -> RETURN_VAL_TYPE | None:
        self.last_match = m
        return None if m is None else ZerolagCache._load(m.value)

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """The generations cached for the most similar prompt under ``llm_string``, or None."""
        hub = _sync(self.hub, "lookup")
        vec = _vector(self.embedding, prompt)
        return self._found(hub.cache.match(self._scope(llm_string), vec, threshold=self.threshold))

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Caches ``return_val`` with the prompt's embedding."""
        hub = _sync(self.hub, "update")
        hub.cache.set_semantic(
            self._key(prompt, llm_string),
            ZerolagCache._dump(return_val),
            scope=self._scope(llm_string),
            embedding=_vector(self.embedding, prompt),
            ttl=self.ttl,
            tags=[self.tag],
        )

    def clear(self, **kwargs: Any) -> None:
        """Invalidates every entry of this cache (its tag), atomically."""
        _sync(self.hub, "clear").cache.invalidate_tag(self.tag)

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """:meth:`lookup` for asyncio code."""
        vec = await _avector(self.embedding, prompt)
        m = await _await(
            self.hub.cache.match(self._scope(llm_string), vec, threshold=self.threshold)
        )
        return self._found(m)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """:meth:`update` for asyncio code."""
        vec = await _avector(self.embedding, prompt)
        await _await(
            self.hub.cache.set_semantic(
                self._key(prompt, llm_string),
                ZerolagCache._dump(return_val),
                scope=self._scope(llm_string),
                embedding=vec,
                ttl=self.ttl,
                tags=[self.tag],
            )
        )

    async def aclear(self, **kwargs: Any) -> None:
        """:meth:`clear` for asyncio code."""
        await _await(self.hub.cache.invalidate_tag(self.tag))


class ZerolagStore(BaseStore[str, bytes]):
    """LangChain's key-value store on ``hub.kv``: bytes values, keys stored as
    ``prefix + key``. ``ttl``: seconds each written key lives (None: no expiry)."""

    def __init__(self, hub: Hub | AsyncHub, *, prefix: str = "", ttl: float | None = None) -> None:
        self.hub = hub
        self.prefix = prefix
        self.ttl = ttl

    def _keys(self, keys: Sequence[str]) -> list[str]:
        return [self.prefix + k for k in keys]

    def _pairs(self, pairs: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        out = []
        for k, v in pairs:
            if not isinstance(v, bytes | bytearray | memoryview):
                raise TypeError(f"ZerolagStore keeps bytes, got {type(v).__name__} for {k!r}")
            out.append((self.prefix + k, bytes(v)))
        return out

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of ``keys``, None where missing."""
        if not keys:
            return []
        out: list[bytes | None] = _sync(self.hub, "mget").kv.get_many(self._keys(keys))
        return out

    def mset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        """Writes the pairs, all or none."""
        pairs = self._pairs(key_value_pairs)
        if pairs:
            _sync(self.hub, "mset").kv.set_many(dict(pairs), ttl=self.ttl)

    def mdelete(self, keys: Sequence[str]) -> None:
        """Deletes ``keys`` (missing ones are fine)."""
        if keys:
            _sync(self.hub, "mdelete").kv.delete_many(self._keys(keys))

    def yield_keys(self, *, prefix: str | None = None) -> Iterator[str]:
        """The keys starting with ``prefix`` (all if None), in key order, page by page."""
        n = len(self.prefix)
        for k in _sync(self.hub, "yield_keys").kv.keys(self.prefix + (prefix or "")):
            yield k[n:]

    async def amget(self, keys: Sequence[str]) -> list[bytes | None]:
        """:meth:`mget` for asyncio code."""
        if not keys:
            return []
        out: list[bytes | None] = await _await(self.hub.kv.get_many(self._keys(keys)))
        return out

    async def amset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        """:meth:`mset` for asyncio code."""
        pairs = self._pairs(key_value_pairs)
        if pairs:
            await _await(self.hub.kv.set_many(dict(pairs), ttl=self.ttl))

    async def amdelete(self, keys: Sequence[str]) -> None:
        """:meth:`mdelete` for asyncio code."""
        if keys:
            await _await(self.hub.kv.delete_many(self._keys(keys)))

    async def ayield_keys(self, *, prefix: str | None = None) -> AsyncIterator[str]:
        """:meth:`yield_keys` for asyncio code."""
        n, p = len(self.prefix), self.prefix + (prefix or "")
        if isinstance(self.hub, AsyncHub):
            async for k in self.hub.kv.keys(p):
                yield k[n:]
        else:
            for k in self.hub.kv.keys(p):
                yield k[n:]


# LangChain message types -> chat roles (a ChatMessage keeps its own role when it is one).
_ROLES = {
    "human": "user",
    "HumanMessageChunk": "user",
    "ai": "assistant",
    "AIMessageChunk": "assistant",
    "system": "system",
    "SystemMessageChunk": "system",
    "tool": "tool",
    "ToolMessageChunk": "tool",
    "function": "function",
    "FunctionMessageChunk": "function",
}
_CHAT_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
_ID = re.compile(r"[A-Za-z0-9_\-.:/@+=]{1,128}")
_PAGE = 1000


def _conversation(session_id: str) -> str:
    """The ``hub.chat`` conversation of a LangChain session id: the id itself when it is a
    valid conversation id, else ``"sha256:"`` and the hex SHA-256 of it (session ids are
    free text; conversation ids are ids)."""
    ok = (
        _ID.fullmatch(session_id)
        and not session_id.startswith(("/", ".", "sha256:"))
        and ".." not in session_id
    )
    return session_id if ok else "sha256:" + _sha(session_id)


def _stored(m: BaseMessage) -> dict[str, Any]:
    """A LangChain message as one ``append_many`` item: the role its type maps to, its text
    as ``content``, and in ``meta`` what ``message_to_dict`` gives besides (``lc_type``,
    ``lc``) plus the content itself when it is a list of blocks (``lc_content``)."""
    d = message_to_dict(m)
    kind = d["type"]
    data = dict(d["data"])
    content = data.pop("content", "")
    data.pop("type", None)
    meta: dict[str, Any] = {"lc_type": kind, "lc": data}
    if isinstance(content, str):
        text = content
    else:
        meta["lc_content"] = content
        text = str(m.text)
    role = _ROLES.get(kind, "user")
    if kind == "chat" and getattr(m, "role", None) in _CHAT_ROLES:
        role = m.role  # type: ignore[attr-defined]
    return {"role": role, "content": text, "meta": meta}


def _message(e: ChatEntry) -> BaseMessage:
    """A stored chat message as a LangChain message: as it was added when this class wrote
    it, else by its role (a message another writer appended with ``hub.chat.append``)."""
    meta = e.meta
    if isinstance(meta, dict) and isinstance(meta.get("lc"), dict) and "lc_type" in meta:
        data = dict(meta["lc"])
        data["content"] = meta.get("lc_content", e.content)
        return messages_from_dict([{"type": meta["lc_type"], "data": data}])[0]
    if e.role == "assistant":
        return AIMessage(content=e.content)
    if e.role in ("system", "developer"):
        return SystemMessage(content=e.content)
    if e.role in ("tool", "function"):
        call = meta.get("tool_call_id", "") if isinstance(meta, dict) else ""
        return ToolMessage(content=e.content, tool_call_id=str(call))
    return HumanMessage(content=e.content)


class ZerolagChatMessageHistory(BaseChatMessageHistory):
    """LangChain's chat message history on ``hub.chat``: the session ``session_id`` is one
    conversation (its id as is when it is a valid conversation id, else ``"sha256:<hex>"``
    of it; ``conversation`` says which). Every message keeps its LangChain form (type,
    content, list content, additional_kwargs, tool calls, id, name, ...) in the stored
    message's ``meta``, beside a plain ``role`` and text ``content`` that other readers of
    ``hub.chat`` (and ``hub.chat.follow``) see. The conversation keeps its newest
    ``hub.chat.configure(max_len=...)`` messages (1,000 by default); ``max_messages`` makes
    :attr:`messages` return only the newest that many. ``add_messages`` is one atomic
    append."""

    def __init__(
        self, hub: Hub | AsyncHub, session_id: str, *, max_messages: int | None = None
    ) -> None:
        if max_messages is not None and not 1 <= max_messages <= 10_000:
            raise ValueError(f"max_messages must be 1 to 10,000, got {max_messages}")
        self.hub = hub
        self.session_id = session_id
        self.conversation = _conversation(session_id)
        self.max_messages = max_messages

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The conversation's messages, oldest first."""
        chat = _sync(self.hub, "get_messages").chat
        if self.max_messages is not None:
            return [_message(e) for e in chat.recent(self.conversation, self.max_messages)]
        out: list[BaseMessage] = []
        after: str | None = None
        while True:
            page = chat.range(self.conversation, after=after, limit=_PAGE)
            out.extend(_message(e) for e in page)
            if len(page) < _PAGE:
                return out
            after = page[-1].id

    async def aget_messages(self) -> list[BaseMessage]:
        """:attr:`messages` for asyncio code."""
        chat = self.hub.chat
        if self.max_messages is not None:
            got = await _await(chat.recent(self.conversation, self.max_messages))
            return [_message(e) for e in got]
        out: list[BaseMessage] = []
        after: str | None = None
        while True:
            page = await _await(chat.range(self.conversation, after=after, limit=_PAGE))
            out.extend(_message(e) for e in page)
            if len(page) < _PAGE:
                return out
            after = page[-1].id

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Appends the messages in order, all or none (one store call)."""
        if messages:
            items: list[Any] = [_stored(m) for m in messages]
            _sync(self.hub, "add_messages").chat.append_many(self.conversation, items)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """:meth:`add_messages` for asyncio code."""
        if messages:
            items: list[Any] = [_stored(m) for m in messages]
            await _await(self.hub.chat.append_many(self.conversation, items))

    def clear(self) -> None:
        """Deletes the conversation."""
        _sync(self.hub, "clear").chat.clear(self.conversation)

    async def aclear(self) -> None:
        """:meth:`clear` for asyncio code."""
        await _await(self.hub.chat.clear(self.conversation))
