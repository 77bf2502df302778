"""LangGraph's long-term store on zerolag: :class:`ZerolagGraphStore`
(``langgraph.store.base.BaseStore``) keeps items in ``hub.kv`` on every backend (embedded,
Redis, Redis Cluster; no Redis modules), with filters, natural-language search when an index
with an embedder is configured, namespace listing and TTL in LangGraph's minutes::

    from zerolag.integrations.langgraph import ZerolagGraphStore
    store = ZerolagGraphStore(hub, index={"dims": 384, "embed": HashingEmbedder()})
    graph = builder.compile(checkpointer=ZerolagSaver(hub), store=store)

Layout (docs/keys.md, "LangGraph store"): an item is one kv key,
``<prefix>/i/<label>/.../<label>/=<key>`` (each part percent-escaped: ``%``, ``/`` and ``=``),
holding ``{"v": value, "c": created_at, "u": updated_at, "t": ttl_minutes}``; with an index,
its vectors (one per indexed text, float32) are the bytes at the same path under
``<prefix>/e/``. A put is one atomic ``set_many`` of both, with the item's TTL as the keys'
time to live (a read that refreshes extends both by it again: ``kv.touch``).

Semantics follow LangGraph's SQL stores: the reads of a batch see the store as it was before
the batch's puts, and the last put of a key in a batch wins; a put keeps the item's
``created_at``; a search without a query lists the newest-updated first (then by namespace
and key); with a query, by the best cosine similarity of the item's vectors (items without
vectors after those with, unscored). A search reads every item under its namespace prefix
(as LangGraph's in-memory store scans its dictionary): the store is for an agent's memories
and profiles, not for millions of documents (``hub.memory`` is).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

try:
    import numpy as np
    from langgraph.store.base import (
        BaseStore,
        GetOp,
        IndexConfig,
        Item,
        ListNamespacesOp,
        MatchCondition,
        Op,
        PutOp,
        Result,
        SearchItem,
        SearchOp,
        TTLConfig,
        ensure_embeddings,
        get_text_at_path,
        tokenize_path,
        validate_op_namespace,
    )
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "zerolag.integrations.langgraph needs langgraph: pip install 'zerolag[langgraph]'"
    ) from e

from .._core import Hub
from ..exceptions import ValidationError

__all__ = ["ZerolagGraphStore"]

_PAGE = 500


def _enc(part: str) -> str:
    if "%" in part or "/" in part or "=" in part:
        return part.replace("%", "%25").replace("/", "%2F").replace("=", "%3D")
    return part


def _dec(part: str) -> str:
    return unquote(part) if "%" in part else part


def _path(namespace: tuple[str, ...], key: str) -> str:
    return "".join(_enc(label) + "/" for label in namespace) + "=" + _enc(key)


def _parse(path: str) -> tuple[tuple[str, ...], str]:
    *labels, last = path.split("/")
    return tuple(_dec(x) for x in labels), _dec(last[1:])


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    try:
        f = float(v)
    except ValueError:
        return None
    return None if math.isnan(f) else f


def _operator(value: Any, op: str, want: Any) -> bool:
    if op == "$eq":
        return bool(value == want)
    if op == "$ne":
        return bool(value != want)
    a, b = _number(value), _number(want)
    if a is None or b is None:
        return False  # a missing or non-numeric field matches no comparison
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]


_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")


def _check_filter(want: Any) -> None:
    """Refuses an unknown ``$`` operator before any item is read."""
    if isinstance(want, dict):
        for k, v in want.items():
            if str(k).startswith("$") and k not in _OPERATORS:
                raise ValidationError(f"unsupported filter operator {k!r} ({' '.join(_OPERATORS)})")
            _check_filter(v)
    elif isinstance(want, (list, tuple)):
        for v in want:
            _check_filter(v)


def _matches(value: Any, want: Any) -> bool:
    """LangGraph's filter rules (JSON-like): a mapping with ``$`` operators compares, another
    mapping matches the keys it names, a list matches element by element, else equality."""
    if isinstance(want, dict):
        if any(str(k).startswith("$") for k in want):
            return all(_operator(value, k, v) for k, v in want.items())
        if not isinstance(value, dict):
            return False
        return all(_matches(value.get(k), v) for k, v in want.items())
    if isinstance(want, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(want)
            and all(_matches(a, b) for a, b in zip(value, want, strict=True))
        )
    return bool(value == want)


def _namespace_matches(cond: MatchCondition, ns: tuple[str, ...]) -> bool:
    path = tuple(cond.path)
    if len(ns) < len(path):
        return False
    if cond.match_type == "prefix":
        pairs = zip(ns, path, strict=False)
    elif cond.match_type == "suffix":
        pairs = zip(reversed(ns), reversed(path), strict=False)
    else:
        raise ValidationError(f"unsupported match type {cond.match_type!r} (prefix, suffix)")
    return all(p == "*" or a == p for a, p in pairs)


class ZerolagGraphStore(BaseStore):
    """LangGraph's ``BaseStore`` on ``hub.kv`` (module docs). ``index``: LangGraph's index
    configuration (``dims``, ``embed``: a LangChain ``Embeddings``, a function of texts or a
    provider string; ``fields``: the JSON paths to embed, default the whole value);
    ``ttl``: LangGraph's TTL configuration (``default_ttl`` minutes, ``refresh_on_read``);
    ``prefix``: the kv key prefix (several stores can share a namespace)."""

    supports_ttl: bool = True

    def __init__(
        self,
        hub: Hub,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        prefix: str = "lgstore",
    ) -> None:
        if not isinstance(hub, Hub):
            raise ValidationError("ZerolagGraphStore needs a zerolag.Hub (zerolag.open(...))")
        if not prefix or "/" in prefix:
            raise ValidationError("prefix must be non-empty text without '/'")
        self.hub = hub
        self.kv = hub.kv
        self.prefix = prefix
        self.ttl_config = ttl
        self.index_config: IndexConfig | None = index
        self.embeddings: Any = None
        self.dims = 0
        self._fields: list[tuple[str, Any]] = []
        if index is not None:
            dims = index.get("dims")
            if not isinstance(dims, int) or isinstance(dims, bool) or dims < 1:
                raise ValidationError("index needs 'dims', a positive integer")
            self.dims = dims
            self.embeddings = ensure_embeddings(index.get("embed"))
            self._fields = [
                (p, tokenize_path(p) if p != "$" else p) for p in (index.get("fields") or ["$"])
            ]

    def __repr__(self) -> str:
        return f"ZerolagGraphStore(prefix={self.prefix!r}, hub={self.hub!r})"

    # ------------------------------------------------------------------ keys

    def _ikey(self, path: str) -> str:
        return f"{self.prefix}/i/{path}"

    def _ekey(self, path: str) -> str:
        return f"{self.prefix}/e/{path}"

    def _scan(self, namespace_prefix: tuple[str, ...]) -> Iterator[list[str]]:
        """The item keys under ``namespace_prefix``, a page at a time."""
        start = self._ikey("".join(_enc(label) + "/" for label in namespace_prefix))
        page: list[str] = []
        for key in self.kv.keys(start):
            page.append(key)
            if len(page) == _PAGE:
                yield page
                page = []
        if page:
            yield page

    def _items(self, namespace_prefix: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(path, record)`` of every live item under ``namespace_prefix``."""
        skip = len(self.prefix) + 3
        for keys in self._scan(namespace_prefix):
            for key, rec in zip(keys, self.kv.get_many(keys), strict=True):
                if isinstance(rec, dict):
                    yield key[skip:], rec

    # ------------------------------------------------------------------ batch

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Runs ``ops`` (get, search, list namespaces, put): the reads first, on the store as
        it was before the batch's puts, then the puts (the last of a key wins)."""
        ops = list(ops)
        queries = {
            op.query for op in ops if isinstance(op, SearchOp) and op.query and self.embeddings
        }
        vectors = {q: self.embeddings.embed_query(q) for q in queries} if self.embeddings else {}
        puts = self._puts(ops)
        texts = self._texts(puts)
        embedded = self.embeddings.embed_documents(texts) if texts and self.embeddings else []
        return self._run(ops, vectors, puts, embedded)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """:meth:`batch`, embedding with the embedder's async methods."""
        ops = list(ops)
        vectors: dict[str, Any] = {}
        if self.embeddings:
            for op in ops:
                if isinstance(op, SearchOp) and op.query and op.query not in vectors:
                    vectors[op.query] = await self.embeddings.aembed_query(op.query)
        puts = self._puts(ops)
        texts = self._texts(puts)
        embedded = (
            await self.embeddings.aembed_documents(texts) if texts and self.embeddings else []
        )
        return self._run(ops, vectors, puts, embedded)

    def _puts(self, ops: list[Op]) -> dict[tuple[tuple[str, ...], str], PutOp]:
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for op in ops:
            validate_op_namespace(op)
            if isinstance(op, PutOp):
                if op.value is not None and not isinstance(op.value, dict):
                    raise ValidationError("a store value is a dict (or None to delete)")
                if op.ttl is not None and not (
                    isinstance(op.ttl, (int, float)) and math.isfinite(op.ttl) and op.ttl > 0
                ):
                    raise ValidationError(f"ttl must be positive minutes or None, not {op.ttl!r}")
                puts.pop((op.namespace, op.key), None)
                puts[(op.namespace, op.key)] = op
            elif not isinstance(op, (GetOp, SearchOp, ListNamespacesOp)):
                raise ValidationError(f"unknown store operation {type(op).__name__}")
        return puts

    def _texts_of(self, op: PutOp) -> list[str]:
        if op.value is None or op.index is False or not self._fields:
            return []
        paths = self._fields if op.index is None else [(p, tokenize_path(p)) for p in op.index]
        out: list[str] = []
        for _, field in paths:
            out.extend(t for t in get_text_at_path(op.value, field) if t)
        return out

    def _texts(self, puts: dict[tuple[tuple[str, ...], str], PutOp]) -> list[str]:
        return [t for op in puts.values() for t in self._texts_of(op)]

    def _run(
        self,
        ops: list[Op],
        vectors: dict[str, Any],
        puts: dict[tuple[tuple[str, ...], str], PutOp],
        embedded: Any,
    ) -> list[Result]:
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op))
            elif isinstance(op, SearchOp):
                results.append(self._search(op, vectors.get(op.query) if op.query else None))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            else:
                results.append(None)
        if puts:
            self._apply(puts, embedded)
        return results

    # ------------------------------------------------------------------ reads

    def _item(self, path: str, rec: dict[str, Any]) -> Item:
        ns, key = _parse(path)
        return Item(
            namespace=ns,
            key=key,
            value=rec["v"],
            created_at=_when(rec["c"]),
            updated_at=_when(rec["u"]),
        )

    def _hit(self, path: str, rec: dict[str, Any], score: float | None) -> SearchItem:
        ns, key = _parse(path)
        return SearchItem(
            namespace=ns,
            key=key,
            value=rec["v"],
            created_at=_when(rec["c"]),
            updated_at=_when(rec["u"]),
            score=score,
        )

    def _refresh(self, path: str, rec: dict[str, Any]) -> None:
        if rec.get("t") is not None:
            self.kv.touch(self._ikey(path))
            if self.embeddings:
                self.kv.touch(self._ekey(path))

    def _get(self, op: GetOp) -> Item | None:
        path = _path(op.namespace, op.key)
        rec = self.kv.get(self._ikey(path))
        if not isinstance(rec, dict):
            return None
        if op.refresh_ttl:
            self._refresh(path, rec)
        return self._item(path, rec)

    def _search(self, op: SearchOp, query: Any) -> list[SearchItem]:
        if op.limit < 0 or op.offset < 0:
            raise ValidationError("search limit and offset must not be negative")
        _check_filter(op.filter)
        found = [
            (path, rec)
            for path, rec in self._items(tuple(op.namespace_prefix))
            if not op.filter or all(_matches(rec["v"].get(k), v) for k, v in op.filter.items())
        ]
        if query is not None:
            ranked = self._rank(found, query)
        else:
            found.sort(key=lambda pr: (-pr[1]["u"], _parse(pr[0])))
            ranked = [(path, rec, None) for path, rec in found]
        page = ranked[op.offset : op.offset + op.limit]
        if op.refresh_ttl:
            for path, rec, _ in page:
                self._refresh(path, rec)
        return [self._hit(path, rec, score) for path, rec, score in page]

    def _rank(
        self, found: list[tuple[str, dict[str, Any]]], query: Any
    ) -> list[tuple[str, dict[str, Any], float | None]]:
        """Best cosine similarity of each item's vectors to ``query``, best first; items
        without vectors after them (newest-updated first)."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        qn = float(np.linalg.norm(q))
        dims = self.dims or q.size
        scored: list[tuple[str, dict[str, Any], float | None]] = []
        plain: list[tuple[str, dict[str, Any], float | None]] = []
        for i in range(0, len(found), _PAGE):
            chunk = found[i : i + _PAGE]
            blobs = self.kv.get_many([self._ekey(p) for p, _ in chunk])
            for (path, rec), blob in zip(chunk, blobs, strict=True):
                if not blob:
                    plain.append((path, rec, None))
                    continue
                m = np.frombuffer(blob, dtype=np.float32).reshape(-1, dims)
                norms = np.linalg.norm(m, axis=1) * qn
                sims = np.divide(m @ q, norms, out=np.zeros(len(m), np.float32), where=norms > 0)
                scored.append((path, rec, float(sims.max())))
        scored.sort(key=lambda t: (-(t[2] or 0.0), _parse(t[0])))
        plain.sort(key=lambda t: (-t[1]["u"], _parse(t[0])))
        return scored + plain

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        if op.limit < 0 or op.offset < 0:
            raise ValidationError("list_namespaces limit and offset must not be negative")
        conds = list(op.match_conditions or ())
        start: tuple[str, ...] = ()
        for c in conds:  # the literal labels a prefix condition starts with narrow the scan
            if c.match_type == "prefix":
                lead = []
                for label in c.path:
                    if label == "*":
                        break
                    lead.append(label)
                if len(lead) > len(start):
                    start = tuple(lead)
        seen: set[tuple[str, ...]] = set()
        for keys in self._scan(start):
            for key in keys:
                ns, _ = _parse(key[len(self.prefix) + 3 :])
                seen.add(ns)
        names = [ns for ns in seen if all(_namespace_matches(c, ns) for c in conds)]
        if op.max_depth is not None:
            names = list({ns[: op.max_depth] for ns in names})
        names.sort()
        return names[op.offset : op.offset + op.limit]

    # ------------------------------------------------------------------ writes

    def _apply(self, puts: dict[tuple[tuple[str, ...], str], PutOp], embedded: Any) -> None:
        live = [(k, op) for k, op in puts.items() if op.value is not None]
        vecs = np.asarray(embedded, dtype=np.float32) if len(embedded) else None
        want = sum(len(self._texts_of(op)) for _, op in live)
        shape = None if vecs is None else vecs.shape
        if (want or shape is not None) and shape != (want, self.dims):
            raise ValidationError(
                f"the embedder returned vectors of shape {shape} for {want} texts; "
                f"the index has {self.dims} dimensions"
            )
        paths = {k: _path(*k) for k in puts}
        gone = [self._ikey(paths[k]) for k, op in puts.items() if op.value is None]
        if gone:
            self.kv.delete_many(
                gone + [self._ekey(paths[k]) for k, op in puts.items() if op.value is None]
            )
        if not live:
            return
        old = self.kv.get_many([self._ikey(paths[k]) for k, _ in live])
        now = time.time()
        # One atomic set_many per time to live (usually one for the whole batch).
        groups: dict[float | None, list[tuple[str, Any]]] = {}
        row = 0
        for (k, op), prev in zip(live, old, strict=True):
            path = paths[k]
            created = prev["c"] if isinstance(prev, dict) else now
            items = groups.setdefault(op.ttl, [])
            items.append(
                (self._ikey(path), {"v": dict(op.value or {}), "c": created, "u": now, "t": op.ttl})
            )
            if self.embeddings:
                n = len(self._texts_of(op))
                blob = vecs[row : row + n].tobytes() if n and vecs is not None else b""
                row += n
                items.append((self._ekey(path), blob))
        for ttl, items in groups.items():
            self.kv.set_many(items, ttl=ttl * 60.0 if ttl is not None else None)

    # ------------------------------------------------------------------ TTL

    def sweep_ttl(self) -> int:
        """Removes expired keys now (reads never return them anyway; the embedded store and
        Redis also remove them on their own); returns how many kv keys went."""
        return int(self.kv.sweep())
