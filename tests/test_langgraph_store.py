"""The LangGraph long-term store (``ZerolagGraphStore``) on every backend.

LangGraph has no conformance suite for stores, so a differential test runs random batches of
operations against LangGraph's ``InMemoryStore`` and ours and compares every result. Where the
two differ by design the comparison says so:

* order: a search without a query lists the newest-updated first (LangGraph's SQL stores);
  the in-memory store lists in dictionary order, so its results are put in that order here;
* the in-memory store lists namespaces it only ever read (a ``get`` creates them) and keeps
  the vectors of an earlier version when a later put embeds nothing; the oracle is kept free
  of both (its empty namespaces are dropped before a listing; such a put deletes first);
* ``created_at``: ours keeps it across updates (as the SQL stores do), the in-memory store
  does not, so timestamps are compared among our own results only.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest
import zerolag
from zerolag import ValidationError

pytest.importorskip("langgraph.store.memory")

from langgraph.store.base import (  # noqa: E402
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore  # noqa: E402
from zerolag.embed import HashingEmbedder  # noqa: E402
from zerolag.integrations.langgraph import ZerolagGraphStore  # noqa: E402

WORDS = ["pizza", "pasta", "pilot", "ocean", "mountain", "python", "rust", "tea", "coffee"]
LABELS = ["users", "u1", "u2", "docs", "a/b", "x=y", "50%"]


def index() -> dict[str, Any]:
    return {"dims": 64, "embed": HashingEmbedder(dim=64), "fields": ["text"]}


class Differential:
    """Both stores and what the comparison needs: each item's last write (batch number)."""

    def __init__(self, ours: ZerolagGraphStore, rng: random.Random) -> None:
        self.ours, self.rng = ours, rng
        self.oracle = InMemoryStore(index=index())  # type: ignore[arg-type]
        self.written: dict[tuple[tuple[str, ...], str], int] = {}
        self.batch_no = 0

    # -- random operations
    def namespace(self) -> tuple[str, ...]:
        return tuple(self.rng.choice(LABELS) for _ in range(self.rng.randint(1, 3)))

    def value(self) -> dict[str, Any]:
        v: dict[str, Any] = {"n": self.rng.randint(0, 9), "tag": self.rng.choice("abc")}
        if self.rng.random() < 0.8:
            v["text"] = " ".join(self.rng.choices(WORDS, k=self.rng.randint(1, 4)))
        if self.rng.random() < 0.3:
            v["nested"] = {"k": self.rng.choice("xy"), "list": [1, self.rng.randint(1, 2)]}
        return v

    def filter(self) -> dict[str, Any] | None:
        r = self.rng.random()
        if r < 0.4:
            return None
        if r < 0.55:
            return {"tag": self.rng.choice("abc")}
        if r < 0.7:
            op = self.rng.choice(["$gt", "$gte", "$lt", "$lte", "$ne", "$eq"])
            return {"n": {op: self.rng.randint(0, 9)}}
        if r < 0.85:
            return {"nested": {"k": self.rng.choice("xy")}}
        return {"nested": {"list": [1, self.rng.randint(1, 2)]}, "tag": self.rng.choice("abc")}

    def known(self) -> tuple[tuple[str, ...], str]:
        if self.written and self.rng.random() < 0.7:
            return self.rng.choice(sorted(self.written))
        return self.namespace(), self.rng.choice(["k1", "k2", "k/3", "=k4"])

    def op(self) -> Any:
        r = self.rng.random()
        if r < 0.4:
            ns, key = self.known()
            if self.rng.random() < 0.15:
                return PutOp(ns, key, None)
            idx = self.rng.choice([None, None, ["text"], False])
            return PutOp(ns, key, self.value(), index=idx)
        if r < 0.6:
            return GetOp(*self.known())
        if r < 0.9:
            prefix = self.namespace()[: self.rng.randint(0, 2)]
            query = " ".join(self.rng.choices(WORDS, k=2)) if self.rng.random() < 0.4 else None
            limit = 1000 if query else self.rng.choice([1, 3, 10, 1000])
            offset = 0 if query else self.rng.choice([0, 0, 1, 2])
            return SearchOp(prefix, self.filter(), limit, offset, query)
        conds = []
        if self.rng.random() < 0.5:
            path = tuple(self.rng.choice(LABELS + ["*"]) for _ in range(self.rng.randint(1, 2)))
            conds.append(MatchCondition(self.rng.choice(["prefix", "suffix"]), path))
        depth = self.rng.choice([None, 1, 2])
        return ListNamespacesOp(tuple(conds) or None, depth, self.rng.choice([2, 100]), 0)

    # -- running a batch on both
    def run(self, ops: list[Any]) -> None:
        before = dict(self.written)
        self.batch_no += 1
        for op in ops:
            if isinstance(op, PutOp):
                k = (op.namespace, op.key)
                if op.value is None:
                    self.written.pop(k, None)
                else:
                    self.written[k] = self.batch_no
        # Namespace listings of the oracle, taken before the batch (its reads see the store
        # as it was) without the empty namespaces its reads leave behind.
        for ns in [ns for ns, items in self.oracle._data.items() if not items]:
            del self.oracle._data[ns]
        listed = {
            i: self.oracle._handle_list_namespaces(op)
            for i, op in enumerate(ops)
            if isinstance(op, ListNamespacesOp)
        }
        want = self.oracle.batch([self.widen(op) for op in ops])
        want = [listed.get(i, w) for i, w in enumerate(want)]
        # A put that embeds nothing leaves no vectors (the in-memory store keeps the old ones).
        last = {(op.namespace, op.key): op for op in ops if isinstance(op, PutOp)}
        for (ns, key), op in last.items():
            if op.value is None or op.index is False or "text" not in op.value:
                self.oracle._vectors[ns].pop(key, None)
        got = self.ours.batch(ops)
        for op, w, g in zip(ops, want, got, strict=True):
            self.compare(op, w, g, before)

    def widen(self, op: Any) -> Any:
        if isinstance(op, SearchOp) and not op.query:
            return op._replace(limit=10**6, offset=0)  # ordered and paged here
        return op

    def compare(
        self, op: Any, want: Any, got: Any, seq: dict[tuple[tuple[str, ...], str], int]
    ) -> None:
        if isinstance(op, PutOp):
            assert want is None and got is None
        elif isinstance(op, GetOp):
            assert (got is None) == (want is None), op
            if got is not None:
                assert (got.namespace, got.key, got.value) == (want.namespace, want.key, want.value)
                assert got.created_at <= got.updated_at
        elif isinstance(op, ListNamespacesOp):
            assert got == want, op
        elif op.query:
            assert len(got) == len(want), op

            def norm(items: list[Any]) -> list[tuple[Any, ...]]:
                return sorted(
                    (
                        -round(i.score, 4) if i.score is not None else 9.0,
                        i.namespace,
                        i.key,
                        repr(i.value),
                    )
                    for i in items
                )

            g, w = norm(got), norm(want)
            assert [x[1:] for x in g] == [x[1:] for x in w], op
            assert [x[0] for x in g] == pytest.approx([x[0] for x in w], abs=2e-4)
            scores = [i.score for i in got if i.score is not None]
            assert scores == sorted(scores, reverse=True)  # best first
        else:
            ordered = sorted(
                want, key=lambda i: (-seq[(tuple(i.namespace), i.key)], tuple(i.namespace), i.key)
            )
            page = ordered[op.offset : op.offset + op.limit]
            assert [(tuple(i.namespace), i.key, i.value) for i in got] == [
                (tuple(i.namespace), i.key, i.value) for i in page
            ], op
            assert all(i.score is None for i in got)

    def step(self) -> None:
        self.run([self.op() for _ in range(self.rng.randint(1, 4))])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_batches_agree_with_langgraphs_in_memory_store(hub: zerolag.Hub, seed: int) -> None:
    d = Differential(ZerolagGraphStore(hub, index=index()), random.Random(seed))  # type: ignore[arg-type]
    for _ in range(120):
        d.step()
    # The last state in full, through the high-level methods.
    for (ns, key), _ in sorted(d.written.items()):
        assert d.ours.get(ns, key) is not None
    assert d.ours.list_namespaces(limit=1000) == sorted({ns for ns, _ in d.written})


def test_put_get_update_keeps_created_at_and_search_orders_newest_first(
    hub: zerolag.Hub,
) -> None:
    store = ZerolagGraphStore(hub)
    store.put(("u", "1"), "a", {"x": 1})
    store.put(("u", "1"), "b", {"x": 2})
    first = store.get(("u", "1"), "a")
    assert first is not None
    time.sleep(0.002)
    store.put(("u", "1"), "a", {"x": 3})
    again = store.get(("u", "1"), "a")
    assert again is not None and again.value == {"x": 3}
    assert again.created_at == first.created_at and again.updated_at > first.updated_at
    assert [i.key for i in store.search(("u",))] == ["a", "b"]
    assert [i.key for i in store.search(("u",), limit=1, offset=1)] == ["b"]
    store.delete(("u", "1"), "a")
    assert store.get(("u", "1"), "a") is None
    assert [i.key for i in store.search(("u",))] == ["b"]


def test_labels_and_keys_cannot_reach_another_namespace(hub: zerolag.Hub) -> None:
    store = ZerolagGraphStore(hub)
    store.put(("a/b",), "k", {"v": 1})
    store.put(("a", "b"), "k", {"v": 2})
    store.put(("a",), "b/=k", {"v": 3})
    store.put(("%2F",), "%", {"v": 4})
    assert store.get(("a/b",), "k").value == {"v": 1}  # type: ignore[union-attr]
    assert store.get(("a", "b"), "k").value == {"v": 2}  # type: ignore[union-attr]
    assert store.get(("a",), "b/=k").value == {"v": 3}  # type: ignore[union-attr]
    assert store.get(("%2F",), "%").value == {"v": 4}  # type: ignore[union-attr]
    assert [i.key for i in store.search(("a",))] == ["b/=k", "k"]
    assert store.list_namespaces() == [("%2F",), ("a",), ("a", "b"), ("a/b",)]
    assert store.list_namespaces(prefix=("a",)) == [("a",), ("a", "b")]
    assert store.list_namespaces(suffix=("b",)) == [("a", "b")]


def test_bad_input_is_refused_and_writes_nothing(hub: zerolag.Hub) -> None:
    store = ZerolagGraphStore(hub)
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("",), "k", {"v": 1})])
    with pytest.raises(ValidationError):
        store.batch([PutOp(("a",), "k", ["not", "a", "dict"])])  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        store.put(("a",), "k", {"v": 1}, ttl=-1)
    with pytest.raises(ValidationError):
        store.put(("a",), "k" * 2000, {"v": 1})  # past the kv key limit
    with pytest.raises(ValidationError):
        store.search(("a",), filter={"n": {"$regex": "x"}})
    with pytest.raises(ValidationError):
        ZerolagGraphStore(hub, index={"dims": 0, "embed": HashingEmbedder(dim=8)})
    with pytest.raises(ValidationError):
        ZerolagGraphStore(object())  # type: ignore[arg-type]
    assert store.list_namespaces() == []
    # An embedder that answers in the wrong dimension is refused before anything is written.
    bad = ZerolagGraphStore(hub, index={"dims": 16, "embed": HashingEmbedder(dim=8)})
    with pytest.raises(ValidationError):
        bad.put(("a",), "k", {"text": "hello"})
    assert bad.get(("a",), "k") is None


def test_ttl_in_minutes_expires_and_refreshes_on_read(hub: zerolag.Hub) -> None:
    store = ZerolagGraphStore(hub, index=index(), ttl={"default_ttl": 0.05})  # type: ignore[arg-type]
    store.put(("t",), "short", {"text": "pizza"}, ttl=0.005)  # 0.3 s
    store.put(("t",), "default", {"text": "pasta"})  # 3 s
    store.put(("t",), "forever", {"text": "tea"}, ttl=None)
    assert hub.kv.ttl("lgstore/i/t/=default") == pytest.approx(3.0, abs=0.5)
    assert hub.kv.ttl("lgstore/e/t/=default") == pytest.approx(3.0, abs=0.5)
    assert hub.kv.ttl("lgstore/i/t/=forever") is None
    time.sleep(1.2)
    assert store.get(("t",), "short") is None
    left = hub.kv.ttl("lgstore/i/t/=default")
    assert left is not None and left < 2.5
    store.get(("t",), "default", refresh_ttl=False)
    assert hub.kv.ttl("lgstore/i/t/=default") <= left  # type: ignore[operator]
    assert store.get(("t",), "default") is not None  # refreshes
    assert hub.kv.ttl("lgstore/i/t/=default") == pytest.approx(3.0, abs=0.5)
    assert hub.kv.ttl("lgstore/e/t/=default") == pytest.approx(3.0, abs=0.5)
    assert {i.key for i in store.search(("t",), query="pizza")} == {"default", "forever"}
    assert store.list_namespaces() == [("t",)]


def test_another_handle_sees_the_items_and_async_methods_agree(
    hub: zerolag.Hub, open_hub: Any
) -> None:
    ours = ZerolagGraphStore(hub, index=index())  # type: ignore[arg-type]
    other = ZerolagGraphStore(open_hub(), index=index())  # type: ignore[arg-type]

    async def main() -> None:
        await ours.aput(("p",), "k1", {"text": "rust and python"})
        await ours.aput(("p", "q"), "k2", {"text": "ocean tea"})
        got = await other.aget(("p",), "k1")
        assert got is not None and got.value == {"text": "rust and python"}
        hits = await other.asearch(("p",), query="python rust")
        assert [h.key for h in hits] == ["k1", "k2"] and hits[0].score > hits[1].score  # type: ignore[operator]
        assert await other.alist_namespaces() == [("p",), ("p", "q")]
        await other.adelete(("p",), "k1")
        assert await ours.aget(("p",), "k1") is None

    asyncio.run(main())
