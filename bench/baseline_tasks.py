"""The baseline: what a competent Python developer would write without zerolag.

Same data layout as zerolag (docs/keys.md), so both sides do the same work on the server:

- ``BaselineTasks`` — redis-py (hiredis parser installed), ``decode_responses=True``. A create
  is one ``MULTI … EXEC`` pipeline (``transaction=True``: the index must change atomically with
  the task) holding the ``HSET`` of the task hash, one ``SADD`` per index set and the two
  ``ZADD``s — one round trip. A batch is one ``MULTI … EXEC`` pipeline for the whole batch,
  with the index updates grouped per set (one ``SADD key id1 id2 …`` per index key, one
  ``ZADD`` per sorted set). A get is ``HGETALL``. A search is ``ZINTER`` of the confidence
  sorted set with the intent and keyword sets (weights 1, 0, 0 …, exactly like
  ``search.lua``), then one pipeline of ``HGETALL`` for the page: two round trips.
- ``AsyncBaselineTasks`` — the same with ``redis.asyncio`` and a connection pool.
- ``SqliteBaselineTasks`` — the stdlib ``sqlite3`` module on the embedded store's schema
  (WAL, ``synchronous=NORMAL``, one transaction per create or batch, the same search SQL):
  the baseline for the embedded backend's rows.

Differences, said plainly: the Redis baseline does not check that a task id is new before
writing (doing that atomically would need ``WATCH`` and a second round trip, or a Lua script,
which is what zerolag does); it validates terms with a short regex rather than zerolag's full
rules. Both make the baseline do slightly *less* work than zerolag.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio as aioredis

__all__ = [
    "Task",
    "BaselineTasks",
    "AsyncBaselineTasks",
    "SqliteBaselineTasks",
    "normalize_term",
    "tokenize",
]

_BAD_TERM = re.compile(r"[*?\[\]{}\\\x00-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def normalize_term(raw: str) -> str:
    """Trimmed, lower-cased, inner whitespace turned into ``_`` (the same rule as zerolag)."""
    t = "_".join(raw.split()).lower()
    if not t or len(t) > 100 or _BAD_TERM.search(t):
        raise ValueError(f"bad index term {raw!r}")
    return t


def _terms(raw: list[str] | None) -> list[str]:
    out: list[str] = []
    for r in raw or ():
        t = normalize_term(r)
        if t not in out:
            out.append(t)
    return out


def _search_terms(intent: str | None, keywords: list[str] | None) -> list[tuple[str, str]]:
    """Index sets to intersect: the combined intent+keyword sets when both are given (the
    same layout and the same plan as zerolag), else the plain ones."""
    kws = _terms(keywords)
    if intent:
        i = normalize_term(intent)
        return [("c", f"{len(i)}:{i}:{k}") for k in kws] if kws else [("i", i)]
    return [("k", k) for k in kws]


def tokenize(s: str) -> list[str]:
    """Lower-cased runs of letters and digits, at most 40 characters each, deduplicated."""
    out: list[str] = []
    for w in _WORD.findall(s.lower()):
        w = w[:40]
        if w not in out and len(out) < 512:
            out.append(w)
    return out


def _b36(n: int) -> str:
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = _B36[r] + s
        if n == 0:
            return s


def new_id() -> str:
    return "t" + _b36(int(time.time() * 1000)) + _b36(random.getrandbits(40) % 36**8).rjust(8, "0")


def _dumps(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class Task:
    id: str
    title: str
    description: str = ""
    intent: str | None = None
    keywords: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    confidence: float = 0.5
    complexity: Any = None
    status: str = "pending"
    progress: float = 0.0
    related: list[str] = field(default_factory=list)
    context_cascade: str | None = None
    estimated_effort: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    version: int = 1

    @classmethod
    def new(cls, title: str, at: float, **f: Any) -> Task:
        if not title or not title.strip():
            raise ValueError("a task needs a non-empty title")
        conf = 0.5 if f.get("confidence") is None else float(f["confidence"])
        if not 0.0 <= conf <= 1.0:
            raise ValueError("confidence must be between 0 and 1")
        tid = f.get("id") or new_id()
        intent = f.get("intent")
        return cls(
            id=tid,
            title=title,
            description=f.get("description") or "",
            intent=normalize_term(intent) if intent else None,
            keywords=_terms(f.get("keywords")),
            patterns=_terms(f.get("patterns")),
            confidence=conf,
            complexity=f.get("complexity"),
            status=normalize_term(f.get("status") or "pending"),
            progress=float(f.get("progress") or 0.0),
            related=[r for r in dict.fromkeys(f.get("related") or ()) if r != tid],
            context_cascade=f.get("context_cascade") or None,
            estimated_effort=f.get("estimated_effort") or None,
            metadata=dict(f.get("metadata") or {}),
            created_at=at,
            updated_at=at,
        )

    def index_suffixes(self) -> list[str]:
        """Suffixes of every index set the task is in, in zerolag's order."""
        out = []
        if self.intent:
            out.append("i:i:" + self.intent)
        out.append("i:s:" + self.status)
        out += ["i:k:" + k for k in self.keywords]
        if self.intent:
            out += [f"i:c:{len(self.intent)}:{self.intent}:{k}" for k in self.keywords]
        out += ["i:p:" + p for p in self.patterns]
        words = tokenize(self.title)
        for w in tokenize(self.description):
            if w not in words:
                words.append(w)
        out += ["i:w:" + w for w in words]
        out += ["i:r:" + r for r in self.related]
        return out

    def to_hash(self, idx: list[str]) -> dict[str, str]:
        """The task hash of docs/keys.md: one JSON ``doc`` plus ``related``, ``version``,
        ``_idx``."""
        doc = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "intent": self.intent,
            "keywords": self.keywords,
            "patterns": self.patterns,
            "confidence": self.confidence,
            "complexity": self.complexity,
            "status": self.status,
            "progress": self.progress,
            "context_cascade": self.context_cascade,
            "estimated_effort": self.estimated_effort,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        return {
            "doc": _dumps(doc),
            "related": _dumps(self.related),
            "version": str(self.version),
            "_idx": "\n".join(idx),
        }

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> Task:
        d = json.loads(h["doc"])
        return cls(
            id=d["id"],
            title=d["title"],
            description=d["description"],
            intent=d["intent"],
            keywords=d["keywords"],
            patterns=d["patterns"],
            confidence=d["confidence"],
            complexity=d["complexity"],
            status=d["status"],
            progress=d["progress"],
            related=json.loads(h["related"]),
            context_cascade=d["context_cascade"],
            estimated_effort=d["estimated_effort"],
            metadata=d["metadata"],
            created_at=d["created_at"],
            updated_at=d["updated_at"],
            version=int(h["version"]),
        )


def _build_many(items: list[dict[str, Any]]) -> list[Task]:
    at = round(time.time(), 3)
    tasks = [Task.new(at=at, **d) for d in items]
    if len({t.id for t in tasks}) != len(tasks):
        raise ValueError("duplicate task id in the batch")
    return tasks


class _RedisLayout:
    def __init__(self, namespace: str) -> None:
        self.p = f"zl:{{{namespace}:tasks}}:"

    def _queue_one(self, pipe: Any, t: Task) -> None:
        p = self.p
        idx = t.index_suffixes()
        pipe.hset(p + "t:" + t.id, mapping=t.to_hash(idx))
        for s in idx:
            pipe.sadd(p + s, t.id)
        pipe.zadd(p + "z:conf", {t.id: t.confidence})
        pipe.zadd(p + "z:upd", {t.id: t.updated_at})

    def _queue_many(self, pipe: Any, tasks: list[Task]) -> None:
        p = self.p
        sets: dict[str, list[str]] = {}
        for t in tasks:
            idx = t.index_suffixes()
            pipe.hset(p + "t:" + t.id, mapping=t.to_hash(idx))
            for s in idx:
                sets.setdefault(s, []).append(t.id)
        for s, ids in sets.items():
            pipe.sadd(p + s, *ids)
        pipe.zadd(p + "z:conf", {t.id: t.confidence for t in tasks})
        pipe.zadd(p + "z:upd", {t.id: t.updated_at for t in tasks})

    def _search_keys(self, intent: str | None, keywords: list[str] | None) -> dict[str, int]:
        keys = {self.p + "z:conf": 1}
        for kind, term in _search_terms(intent, keywords):
            keys[f"{self.p}i:{kind}:{term}"] = 0
        return keys


class BaselineTasks(_RedisLayout):
    """Tasks on Redis with redis-py, synchronous."""

    def __init__(self, url: str, namespace: str = "default") -> None:
        super().__init__(namespace)
        self.r = redis.Redis.from_url(url, decode_responses=True)

    def close(self) -> None:
        self.r.close()

    def create(self, title: str, **fields: Any) -> Task:
        t = Task.new(title, at=round(time.time(), 3), **fields)
        pipe = self.r.pipeline(transaction=True)
        self._queue_one(pipe, t)
        pipe.execute()
        return t

    def create_many(self, items: list[dict[str, Any]]) -> list[Task]:
        tasks = _build_many(items)
        pipe = self.r.pipeline(transaction=True)
        self._queue_many(pipe, tasks)
        pipe.execute()
        return tasks

    def get(self, id: str) -> Task:
        h = self.r.hgetall(self.p + "t:" + id)
        if not h:
            raise KeyError(id)
        return Task.from_hash(h)

    def search(
        self, *, intent: str | None = None, keywords: list[str] | None = None, limit: int = 20
    ) -> list[Task]:
        scored = self.r.zinter(self._search_keys(intent, keywords), withscores=True)
        # ZINTER answers in ascending (score, member) order; we want the highest first.
        ids = [m for m, _ in scored[: -limit - 1 : -1]]
        pipe = self.r.pipeline(transaction=False)
        for i in ids:
            pipe.hgetall(self.p + "t:" + i)
        return [Task.from_hash(h) for h in pipe.execute() if h]

    def count(self) -> int:
        return int(self.r.zcard(self.p + "z:upd"))

    def clear(self) -> None:
        keys = list(
            self.r.scan_iter(match=self.p.replace("{", "\\{").replace("}", "\\}") + "*", count=1000)
        )
        for i in range(0, len(keys), 1000):
            self.r.unlink(*keys[i : i + 1000])


class AsyncBaselineTasks(_RedisLayout):
    """Tasks on Redis with ``redis.asyncio`` and a connection pool."""

    def __init__(self, url: str, namespace: str = "default", max_connections: int = 100) -> None:
        super().__init__(namespace)
        self.pool = aioredis.ConnectionPool.from_url(
            url, decode_responses=True, max_connections=max_connections
        )
        self.r = aioredis.Redis(connection_pool=self.pool)

    async def close(self) -> None:
        await self.r.aclose()
        await self.pool.disconnect()

    async def create(self, title: str, **fields: Any) -> Task:
        t = Task.new(title, at=round(time.time(), 3), **fields)
        async with self.r.pipeline(transaction=True) as pipe:
            self._queue_one(pipe, t)
            await pipe.execute()
        return t

    async def create_many(self, items: list[dict[str, Any]]) -> list[Task]:
        tasks = _build_many(items)
        async with self.r.pipeline(transaction=True) as pipe:
            self._queue_many(pipe, tasks)
            await pipe.execute()
        return tasks

    async def get(self, id: str) -> Task:
        h = await self.r.hgetall(self.p + "t:" + id)
        if not h:
            raise KeyError(id)
        return Task.from_hash(h)

    async def search(
        self, *, intent: str | None = None, keywords: list[str] | None = None, limit: int = 20
    ) -> list[Task]:
        scored = await self.r.zinter(self._search_keys(intent, keywords), withscores=True)
        ids = [m for m, _ in scored[: -limit - 1 : -1]]
        async with self.r.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(self.p + "t:" + i)
            rows = await pipe.execute()
        return [Task.from_hash(h) for h in rows if h]


# The embedded store's schema (src/tasks/sqlite.rs), for the sqlite3 baseline.
SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    ns TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
    intent TEXT, keywords TEXT NOT NULL, patterns TEXT NOT NULL, confidence REAL NOT NULL,
    complexity TEXT, status TEXT NOT NULL, progress REAL NOT NULL, related TEXT NOT NULL,
    context_cascade TEXT, estimated_effort TEXT, metadata TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_by_confidence ON tasks (ns, confidence DESC, id DESC);
CREATE INDEX IF NOT EXISTS tasks_by_updated ON tasks (ns, updated_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS task_terms (
    ns TEXT NOT NULL, kind TEXT NOT NULL, term TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (ns, kind, term, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_terms_by_id ON task_terms (ns, id);
CREATE TABLE IF NOT EXISTS task_rel (
    ns TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL, PRIMARY KEY (ns, src, dst)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_rel_by_dst ON task_rel (ns, dst, src);
"""

_COLS = (
    "id, title, description, intent, keywords, patterns, confidence, complexity, status, "
    "progress, related, context_cascade, estimated_effort, metadata, created_at, updated_at, "
    "version"
)
_INSERT = f"INSERT INTO tasks ({_COLS}, ns) VALUES ({', '.join('?' * 18)})"
_INSERT_TERM = "INSERT OR IGNORE INTO task_terms (ns, kind, term, id) VALUES (?, ?, ?, ?)"
_INSERT_REL = "INSERT OR IGNORE INTO task_rel (ns, src, dst) VALUES (?, ?, ?)"


def _row_task(r: tuple[Any, ...]) -> Task:
    return Task(
        id=r[0],
        title=r[1],
        description=r[2],
        intent=r[3],
        keywords=json.loads(r[4]),
        patterns=json.loads(r[5]),
        confidence=r[6],
        complexity=json.loads(r[7]) if r[7] else None,
        status=r[8],
        progress=r[9],
        related=json.loads(r[10]),
        context_cascade=r[11],
        estimated_effort=r[12],
        metadata=json.loads(r[13]),
        created_at=r[14],
        updated_at=r[15],
        version=r[16],
    )


class SqliteBaselineTasks:
    """Tasks in SQLite with the stdlib ``sqlite3`` module, same schema as the embedded store.

    One connection per thread (``sqlite3`` connections are not shared across threads), so the
    asyncio variant can run calls with ``asyncio.to_thread``.
    """

    def __init__(self, path: str, namespace: str = "default") -> None:
        self.path, self.ns = path, namespace
        self._local = threading.local()
        self._conn().executescript(SQLITE_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "c", None)
        if c is None:
            c = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            self._local.c = c
        return c

    def _write(self, c: sqlite3.Connection, tasks: list[Task]) -> None:
        ns = self.ns
        rows, terms, rels = [], [], []
        for t in tasks:
            rows.append(
                (
                    t.id,
                    t.title,
                    t.description,
                    t.intent,
                    _dumps(t.keywords),
                    _dumps(t.patterns),
                    t.confidence,
                    None if t.complexity is None else _dumps(t.complexity),
                    t.status,
                    t.progress,
                    _dumps(t.related),
                    t.context_cascade,
                    t.estimated_effort,
                    _dumps(t.metadata),
                    t.created_at,
                    t.updated_at,
                    t.version,
                    ns,
                )
            )
            for s in t.index_suffixes():
                kind, term = s[2], s[4:]
                if kind == "r":
                    rels.append((ns, t.id, term))
                else:
                    terms.append((ns, kind, term, t.id))
        c.execute("BEGIN IMMEDIATE")
        try:
            c.executemany(_INSERT, rows)
            c.executemany(_INSERT_TERM, terms)
            c.executemany(_INSERT_REL, rels)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def create(self, title: str, **fields: Any) -> Task:
        t = Task.new(title, at=round(time.time(), 3), **fields)
        self._write(self._conn(), [t])
        return t

    def create_many(self, items: list[dict[str, Any]]) -> list[Task]:
        tasks = _build_many(items)
        self._write(self._conn(), tasks)
        return tasks

    def get(self, id: str) -> Task:
        r = (
            self._conn()
            .execute(f"SELECT {_COLS} FROM tasks WHERE ns = ? AND id = ?", (self.ns, id))
            .fetchone()
        )
        if r is None:
            raise KeyError(id)
        return _row_task(r)

    def search(
        self, *, intent: str | None = None, keywords: list[str] | None = None, limit: int = 20
    ) -> list[Task]:
        terms = _search_terms(intent, keywords)
        sql = f"SELECT {_COLS} FROM tasks t WHERE t.ns = ?"
        args: list[Any] = [self.ns]
        if terms:
            sub = " INTERSECT ".join(
                "SELECT id FROM task_terms WHERE ns = ? AND kind = ? AND term = ?" for _ in terms
            )
            sql += f" AND t.id IN ({sub})"
            for kind, term in terms:
                args += [self.ns, kind, term]
        sql += " ORDER BY t.confidence DESC, t.id DESC LIMIT ?"
        args.append(limit)
        return [_row_task(r) for r in self._conn().execute(sql, args)]

    def count(self) -> int:
        return int(
            self._conn()
            .execute("SELECT count(*) FROM tasks WHERE ns = ?", (self.ns,))
            .fetchone()[0]
        )

    def close(self) -> None:
        c = getattr(self._local, "c", None)
        if c is not None:
            c.close()
            self._local.c = None
