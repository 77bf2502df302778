"""The baselines of the memory suite, each as a Python developer would write it:

- vector top-k with numpy (one matrix-vector product, ``argpartition`` for the best k, then a
  sort of those k), and usearch's HNSW index for context (approximate, built ahead);
- keyword search with ``rank_bm25`` (``BM25Okapi.get_scores`` over the tokenised corpus, then
  ``argpartition``) and with SQLite FTS5 (``MATCH`` ... ``ORDER BY rank LIMIT k``);
- ``remember`` on Redis with redis-py, writing the keys and postings ``hub.memory`` writes
  (docs/keys.md): one pipelined read of the key's versions and a block of row ids, then one
  ``MULTI``/``EXEC`` pipeline with the row hash, postings, totals, entity sets, the vector
  set, the key's version line, the row indexes and the change-feed entry; a batch is those
  same two round trips for the whole batch;
- the same writes as aggregated plain commands (``RedisPyMemoryAggregated``: one command per
  term, entity and index key for the whole batch, as ours aggregates them): not a competitor,
  the least work a client can ask of the server for this key layout (a floor).
- the read bandwidth of this machine, for the floor of a scan (bytes scanned / bandwidth).
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np


def numpy_topk(
    matrix: np.ndarray[Any, Any], query: np.ndarray[Any, Any], k: int
) -> np.ndarray[Any, Any]:
    """Row indexes of the ``k`` largest dot products of ``query`` with ``matrix``'s rows, best
    first (rows and query already normalised for cosine)."""
    scores = matrix @ query
    best = np.argpartition(-scores, k)[:k]
    return best[np.argsort(-scores[best])]


def read_bandwidth(threads: int = 2, mib: int = 512, rounds: int = 5) -> float:
    """Bytes per second numpy reads from memory: the best of ``rounds`` sums of a ``mib`` MiB
    array (far above the caches), split over ``threads`` threads (numpy releases the GIL in a
    reduction), like the scans it is the floor of."""
    a = np.ones(mib * 1024 * 1024 // 4, dtype=np.float32)
    parts = np.array_split(a, threads)
    best = math.inf
    for _ in range(rounds):
        ts = [threading.Thread(target=np.sum, args=(p,)) for p in parts]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        best = min(best, time.perf_counter() - t0)
    return a.nbytes / best


class UsearchIndex:
    """usearch's HNSW index (cosine, f32, its defaults) over the same rows."""

    def __init__(self, dim: int) -> None:
        from usearch.index import Index

        self.index = Index(ndim=dim, metric="cos", dtype="f32")

    def add(self, ids: np.ndarray[Any, Any], data: np.ndarray[Any, Any]) -> None:
        self.index.add(ids, data)

    def search(self, q: np.ndarray[Any, Any], k: int) -> np.ndarray[Any, Any]:
        return np.asarray(self.index.search(q, k).keys)

    def memory_bytes(self) -> int:
        return int(self.index.memory_usage)


# -------------------------------------------------------------------------- keywords

_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class RankBm25:
    """``rank_bm25.BM25Okapi`` over the tokenised documents; top k by ``argpartition``."""

    def __init__(self, docs: Sequence[str]) -> None:
        from rank_bm25 import BM25Okapi

        self.bm25 = BM25Okapi([tokens(d) for d in docs])

    def search(self, query: str, k: int) -> np.ndarray[Any, Any]:
        scores = self.bm25.get_scores(tokens(query))
        best = np.argpartition(-scores, k)[:k]
        return best[np.argsort(-scores[best])]


class Fts5:
    """An in-memory SQLite FTS5 table of the documents, queried with the terms OR'ed (the
    keyword signal ranks any document with any term), best ``k`` by FTS5's BM25 ``rank``."""

    def __init__(self, docs: Sequence[str]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(body)")
        self.db.executemany(
            "INSERT INTO docs(rowid, body) VALUES (?, ?)", ((i, d) for i, d in enumerate(docs))
        )
        self.db.commit()

    def search(self, query: str, k: int) -> list[int]:
        match = " OR ".join(f'"{t}"' for t in tokens(query))
        rows = self.db.execute(
            "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT ?", (match, k)
        )
        return [r[0] for r in rows]


# -------------------------------------------------------------------------- remember on Redis


def _enc(key: str) -> str:
    """A record key in a key name, as the store encodes it (bytes below '!', DEL, '%')."""
    return "".join(f"%{ord(c):02X}" if ord(c) <= 32 or c in "\x7f%" else c for c in key)


class RedisPyMemory:
    """``remember`` / ``remember_many`` with redis-py over ``hub.memory``'s key layout in
    namespace ``ns`` (new keys: the version line is read, a new version appended)."""

    aggregate = False

    def __init__(self, client: Any, ns: str) -> None:
        self.r = client
        self.p = f"zl:{{{ns}:mem}}:"

    def remember_many(self, items: Sequence[dict[str, Any]]) -> list[int]:
        p, r = self.p, self.r
        scope = ""
        # Round trip 1: the versions each key has, and a block of row ids.
        pipe = r.pipeline(transaction=False)
        for it in items:
            pipe.hlen(f"{p}k:{scope}|{_enc(it['key'])}")
        pipe.hincrby(f"{p}meta", "row", len(items))
        pipe.incrby(f"{p}changes:n", len(items))
        *versions, last, seq = pipe.execute()
        first = int(last) - len(items) + 1
        seq = int(seq) - len(items)
        now = int(time.time() * 1000)
        # Round trip 2: everything, atomically.
        pipe = r.pipeline(transaction=True)
        total_len = 0
        rows = []
        # Used when aggregating (below): one command per key for the whole batch.
        postings: dict[str, dict[str, int]] = {}
        entity_sets: dict[str, list[int]] = {}
        index: dict[str, int] = {}
        for j, (it, have) in enumerate(zip(items, versions, strict=True)):
            row = first + j
            rows.append(row)
            version = int(have) + 1
            tf = Counter(tokens(it["value"]))
            n = sum(tf.values())
            total_len += n
            vec = np.asarray(it["embedding"], dtype=np.float32)
            vec = vec / np.linalg.norm(vec)
            ents = " ".join(it.get("entities", ()))
            pipe.hset(
                f"{p}r:{row}",
                mapping={
                    "k": it["key"],
                    "s": scope,
                    "v": version,
                    "t": "s",
                    "d": it["value"],
                    "kd": "semantic",
                    "c": "",
                    "g": "0.5",
                    "en": ents,
                    "m": "",
                    "src": "",
                    "vf": now,
                    "vt": "",
                    "ra": now,
                    "sp": "default",
                    "vec": vec.astype("<f4").tobytes(),
                    "len": n,
                    "terms": " ".join(tf),
                },
            )
            for term, c in tf.items():
                if self.aggregate:
                    postings.setdefault(term, {})[str(row)] = c
                else:
                    pipe.hset(f"{p}t:{term}", str(row), c)
            if self.aggregate:
                for e in it.get("entities", ()):
                    entity_sets.setdefault(f"{p}ent:{scope}|{e}", []).append(row)
                index[str(row)] = row
            else:
                pipe.zadd(f"{p}vs:default", {str(row): row})
                for e in it.get("entities", ()):
                    pipe.sadd(f"{p}ent:{scope}|{e}", row)
            pipe.hset(f"{p}k:{scope}|{_enc(it['key'])}", str(version), row)
            if not self.aggregate:
                pipe.zadd(f"{p}rows", {str(row): row})
                pipe.zadd(f"{p}sr:{scope}", {str(row): row})
            pipe.xadd(
                f"{p}changes",
                {"s": seq + j + 1, "i": f"row:{row}", "v": version, "k": "c"},
                maxlen=100_000,
                approximate=True,
            )
        for term, m in postings.items():
            pipe.hset(f"{p}t:{term}", mapping=m)
        for key, members in entity_sets.items():
            pipe.sadd(key, *members)
        if index:
            for z in (f"{p}vs:default", f"{p}rows", f"{p}sr:{scope}"):
                pipe.zadd(z, index)
        pipe.hincrby(f"{p}meta", "docs", len(items))
        pipe.hincrby(f"{p}meta", "len", total_len)
        pipe.hset(f"{p}meta", "t", now)
        pipe.publish(f"zlw:{p[4:-6]}:changes", "")
        pipe.execute()
        return rows

    def remember(self, item: dict[str, Any]) -> int:
        return self.remember_many([item])[0]


class RedisPyMemoryAggregated(RedisPyMemory):
    """The same writes with one command per term, entity and index key for the whole batch
    (as ``hub.memory``'s script aggregates them), in one ``MULTI``/``EXEC``: what the server
    must do at least for these writes, whoever sends them. A floor, not a competitor."""

    aggregate = True
