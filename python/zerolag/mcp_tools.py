"""The tools of ``zerolag mcp`` (:mod:`zerolag.mcp_server`): one per hub operation an agent
needs, typed so the SDK derives each input schema from the signature.

Every tool calls the blocking hub (each call one store operation that releases the GIL), so the
hub applies its own rules to the arguments: a bad argument is the same typed error as from
Python (``ValidationError``, ``NotFoundError``, ``ConflictError``, ...), returned to the client
as a tool error that names the error's class. Results are JSON objects (the tool's structured
output, and the same as text)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from ._core import (
    Event,
    Hub,
    Insights,
    Job,
    MemoryHit,
    MemoryRecord,
    Message,
    Pattern,
)
from .exceptions import ZerolagError

__all__ = ["READERS", "WRITERS", "register_tools"]

P = ParamSpec("P")
R = TypeVar("R")

JSON = Any
Scope = Annotated[
    dict[str, str] | None,
    Field(description='memory scope, e.g. {"user": "u1"}; omitted: the global scope'),
]
Priority = Literal["critical", "high", "medium", "low"]
MemoryKind = Literal["semantic", "episodic", "procedural"]
TaskField = Literal[
    "description",
    "intent",
    "complexity",
    "context_cascade",
    "estimated_effort",
    "keywords",
    "patterns",
    "related",
]

# The tools that only read (what ``--read-only`` keeps) and those that write.
READERS = (
    "tasks_get",
    "tasks_search",
    "tasks_related",
    "docs_get",
    "docs_list",
    "jobs_status",
    "jobs_list",
    "bus_pending",
    "events_read",
    "patterns_insights",
    "memory_recall",
    "memory_search",
)
WRITERS = (
    "tasks_create",
    "tasks_update",
    "docs_put",
    "jobs_enqueue",
    "bus_share",
    "bus_ack",
    "events_publish",
    "patterns_store",
    "memory_remember",
)

# What a failing hub call may raise besides ZerolagError: the builtin errors the API documents
# (TypeError for a value JSON cannot hold, OS errors for I/O).
_EXPECTED = (ZerolagError, ValueError, TypeError, OverflowError, LookupError, OSError)


def _guard(fn: Callable[P, R], *, thread: bool = False) -> Callable[P, Awaitable[R]]:
    """The tool as the server runs it: a coroutine that calls the blocking hub directly (one
    store operation, GIL released: a hop to a worker thread would cost more than most calls),
    or on a worker thread (``thread``) for a call that may take long. The hub's typed errors
    become tool errors with their message (``NotFoundError: ...``) instead of the SDK's opaque
    "Error executing tool"; anything else stays a crash the SDK reports without details
    (never a traceback in the result)."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            if thread:
                return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
            return fn(*args, **kwargs)
        except _EXPECTED as e:
            raise ToolError(f"{type(e).__name__}: {e}") from e

    return run


def _given(**fields: Any) -> dict[str, Any]:
    """The arguments the client gave (None: not given)."""
    return {k: v for k, v in fields.items() if v is not None}


def _job(j: Job) -> dict[str, Any]:
    return {
        "id": j.id,
        "kind": j.kind,
        "payload": j.payload,
        "priority": j.priority,
        "status": j.status,
        "attempts": j.attempts,
        "max_attempts": j.max_attempts,
        "run_at": j.run_at,
        "created_at": j.created_at,
        "started_at": j.started_at,
        "finished_at": j.finished_at,
        "result": j.result,
        "error": j.error,
        "progress": j.progress,
        "idempotency_key": j.idempotency_key,
        "worker": j.worker,
    }


def _message(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "source": m.source,
        "target": m.target,
        "kind": m.kind,
        "priority": m.priority,
        "time": m.time,
        "broadcast": m.broadcast,
        "payload": m.payload,
    }


def _event(e: Event) -> dict[str, Any]:
    return {"id": e.id, "channel": e.channel, "time": e.time, "data": e.data}


def _pattern(p: Pattern) -> dict[str, Any]:
    return {
        "id": p.id,
        "repo": p.repo,
        "type": p.type,
        "data": p.data,
        "confidence": p.confidence,
        "observations": p.observations,
        "first_seen": p.first_seen,
        "last_seen": p.last_seen,
    }


def _insights(i: Insights) -> dict[str, Any]:
    return {
        "repo": i.repo,
        "window_days": i.window_days,
        "counts": i.counts,
        "patterns": [_pattern(p) for p in i.patterns],
        "issues": [
            {
                "rule_id": s.rule_id,
                "count": s.count,
                "file": s.file,
                "severity": s.severity,
                "message": s.message,
                "first_seen": s.first_seen,
                "last_seen": s.last_seen,
            }
            for s in i.issues
        ],
        "acceptance": [
            {"rule_id": a.rule_id, "accepted": a.accepted, "total": a.total, "rate": a.rate}
            for a in i.acceptance
        ],
        "trends": [
            {"rule_id": t.rule_id, "current": t.current, "previous": t.previous, "change": t.change}
            for t in i.trends
        ],
    }


def _record(r: MemoryRecord) -> dict[str, Any]:
    return {
        "key": r.key,
        "version": r.version,
        "value": r.value,
        "kind": r.kind,
        "category": r.category,
        "significance": r.significance,
        "scope": r.scope,
        "entities": r.entities,
        "metadata": r.metadata,
        "source": r.source,
        "valid_from": r.valid_from,
        "valid_to": r.valid_to,
        "recorded_at": r.recorded_at,
        "deleted": r.deleted,
    }


def _hit(h: MemoryHit) -> dict[str, Any]:
    return {
        "score": h.score,
        "signals": {k: list(v) for k, v in h.signals().items()},
        "record": _record(h.record),
    }


def register_tools(server: MCPServer[Any], hub: Hub, *, read_only: bool = False) -> list[str]:
    """Adds the tools to ``server`` (only :data:`READERS` when ``read_only``); returns their
    names."""
    reading = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
    writing = ToolAnnotations(read_only_hint=False, destructive_hint=False)
    added: list[str] = []

    def tool(fn: Callable[..., dict[str, Any]]) -> None:
        name = fn.__name__
        # A memory search may first load the in-process index: on a thread, so the event loop
        # (other requests, notifications) goes on meanwhile.
        if name not in READERS and name not in WRITERS:  # pragma: no cover - a coding error
            raise AssertionError(f"tool {name} is in neither READERS nor WRITERS")
        if read_only and name not in READERS:
            return
        server.add_tool(
            _guard(fn, thread=name == "memory_search"),
            name=name,
            annotations=reading if name in READERS else writing,
            structured_output=True,
        )
        added.append(name)

    # ---- tasks ---------------------------------------------------------------------------

    @tool
    def tasks_create(
        title: str,
        id: Annotated[str | None, Field(description="task id; generated if omitted")] = None,
        description: str | None = None,
        intent: str | None = None,
        keywords: list[str] | None = None,
        patterns: list[str] | None = None,
        confidence: Annotated[float | None, Field(description="0..1, default 0.5")] = None,
        complexity: Annotated[
            str | float | None, Field(description="low, medium, high, critical, or 0..1")
        ] = None,
        status: Annotated[str | None, Field(description='default "pending"')] = None,
        progress: float | None = None,
        related: Annotated[list[str] | None, Field(description="ids of related tasks")] = None,
        context_cascade: str | None = None,
        estimated_effort: str | None = None,
        metadata: dict[str, JSON] | None = None,
    ) -> dict[str, Any]:
        """Create a task with LLM-first indexing (intent, keywords, patterns, confidence,
        related ids). Fails with ConflictError if the id exists."""
        fields = _given(
            id=id,
            description=description,
            intent=intent,
            keywords=keywords,
            patterns=patterns,
            confidence=confidence,
            complexity=complexity,
            status=status,
            progress=progress,
            related=related,
            context_cascade=context_cascade,
            estimated_effort=estimated_effort,
            metadata=metadata,
        )
        return hub.tasks.create(title, **fields).to_dict()

    @tool
    def tasks_get(id: str) -> dict[str, Any]:
        """One task by id (NotFoundError if there is none)."""
        return hub.tasks.get(id).to_dict()

    @tool
    def tasks_search(
        intent: str | None = None,
        keywords: Annotated[list[str] | None, Field(description="all must be present")] = None,
        any_keywords: Annotated[
            list[str] | None, Field(description="at least one must be present")
        ] = None,
        patterns: list[str] | None = None,
        status: str | None = None,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        related_to: Annotated[
            str | None, Field(description="a task id, related in either direction")
        ] = None,
        text: Annotated[
            str | None, Field(description="every word in the title or description")
        ] = None,
        order: Literal["confidence", "recent"] = "confidence",
        limit: Annotated[int, Field(description="1..1000 per page")] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor of the last page")] = None,
    ) -> dict[str, Any]:
        """Tasks matching every given criterion, one page (``next_cursor`` for the next)."""
        page = hub.tasks.search(
            intent=intent,
            keywords=keywords,
            any_keywords=any_keywords,
            patterns=patterns,
            status=status,
            min_confidence=min_confidence,
            max_confidence=max_confidence,
            related_to=related_to,
            text=text,
            order=order,
            limit=limit,
            cursor=cursor,
        )
        return {"tasks": [t.to_dict() for t in page.tasks], "next_cursor": page.next_cursor}

    @tool
    def tasks_update(
        id: str,
        if_version: Annotated[
            int | None, Field(description="fail with ConflictError unless at this version")
        ] = None,
        title: str | None = None,
        description: str | None = None,
        intent: str | None = None,
        keywords: list[str] | None = None,
        patterns: list[str] | None = None,
        confidence: float | None = None,
        complexity: str | float | None = None,
        status: str | None = None,
        progress: float | None = None,
        related: list[str] | None = None,
        context_cascade: str | None = None,
        estimated_effort: str | None = None,
        metadata: Annotated[
            dict[str, JSON] | None,
            Field(description="merged key by key; a null value removes the key"),
        ] = None,
        clear: Annotated[
            list[TaskField] | None, Field(description="optional fields to clear")
        ] = None,
    ) -> dict[str, Any]:
        """Partial update of a task: fields omitted stay as they are."""
        fields = _given(
            title=title,
            description=description,
            intent=intent,
            keywords=keywords,
            patterns=patterns,
            confidence=confidence,
            complexity=complexity,
            status=status,
            progress=progress,
            related=related,
            context_cascade=context_cascade,
            estimated_effort=estimated_effort,
            metadata=metadata,
        )
        for name in clear or ():
            if name in fields:
                raise ToolError(f"ValidationError: {name} is both given and cleared")
            fields[name] = None
        return hub.tasks.update(id, if_version=if_version, **fields).to_dict()

    @tool
    def tasks_related(id: str) -> dict[str, Any]:
        """Tasks ``id`` lists as related plus the tasks that list ``id``."""
        return {"tasks": [t.to_dict() for t in hub.tasks.related(id)]}

    # ---- documents -----------------------------------------------------------------------

    @tool
    def docs_get(
        path: Annotated[str, Field(description="e.g. contexts/app/brief.yaml")],
    ) -> dict[str, Any]:
        """A YAML or JSON document under contexts/ or workflows/: its parsed value, raw text
        and version."""
        d = hub.docs.get(path)
        return {
            "path": d.path,
            "value": d.value,
            "text": d.text,
            "format": d.format,
            "version": d.version,
            "origin": d.origin,
            "updated": d.updated,
        }

    @tool
    def docs_put(
        path: Annotated[
            str, Field(description="contexts/... or workflows/..., ending .yaml, .yml or .json")
        ],
        value: Annotated[
            JSON, Field(description="the document's value (written as YAML or JSON)")
        ] = None,
        # A plain str (not optional): the SDK parses a string argument that holds JSON into
        # an object unless the parameter is exactly str, and a JSON document's text is JSON.
        text: Annotated[
            str, Field(description="raw YAML or JSON text instead of value (kept as is)")
        ] = "",
        expected_version: Annotated[
            int | None,
            Field(description="compare-and-set: the stored version (0: must not exist)"),
        ] = None,
    ) -> dict[str, Any]:
        """Store a document (its file is written back by the file sync). Give ``value`` or
        ``text``."""
        if (text == "") == (value is None):
            raise ToolError("ValidationError: give either value or text")
        if text:
            d = hub.docs.put_text(path, text, expected_version=expected_version)
        else:
            d = hub.docs.put(path, value, expected_version=expected_version)
        return {"path": d.path, "version": d.version, "hash": d.hash, "format": d.format}

    @tool
    def docs_list(prefix: str = "") -> dict[str, Any]:
        """Document paths starting with ``prefix``, sorted."""
        return {"paths": hub.docs.list(prefix)}

    # ---- jobs ----------------------------------------------------------------------------

    @tool
    def jobs_enqueue(
        kind: str,
        payload: JSON = None,
        priority: Annotated[int, Field(description="higher first")] = 0,
        delay: Annotated[float | None, Field(description="seconds before it may run")] = None,
        run_at: Annotated[float | None, Field(description="Unix seconds")] = None,
        max_attempts: int = 3,
        backoff: Annotated[
            Literal["exponential", "fixed"] | float | None,
            Field(description="delay before a retry (seconds: fixed)"),
        ] = None,
        timeout: Annotated[float | None, Field(description="seconds one attempt may run")] = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Enqueue a durable job for the backend workers; the same ``idempotency_key`` returns
        the existing job."""
        job = hub.jobs.enqueue(
            kind,
            payload,
            priority=priority,
            delay=delay,
            run_at=run_at,
            max_attempts=max_attempts,
            backoff=backoff,
            timeout=timeout,
            idempotency_key=idempotency_key,
        )
        return _job(job)

    @tool
    def jobs_status(id: str) -> dict[str, Any]:
        """A job's status, attempts, progress, result or error."""
        return _job(hub.jobs.get(id))

    @tool
    def jobs_list(
        queue: Literal["ready", "delayed", "running", "finished"],
        kind: Annotated[str | None, Field(description="required for the ready queue")] = None,
        status: Literal["pending", "running", "succeeded", "failed", "dead", "cancelled"]
        | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One page of a queue's jobs in the order workers see them."""
        page = hub.jobs.list(queue, kind=kind, status=status, limit=limit, cursor=cursor)
        return {"jobs": [_job(j) for j in page.jobs], "next_cursor": page.next_cursor}

    # ---- bus -----------------------------------------------------------------------------

    @tool
    def bus_share(
        source: str,
        target: Annotated[
            str | None, Field(description="the agent; null: every agent registered for kind")
        ],
        payload: JSON,
        priority: Priority = "medium",
        kind: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Send a message to an agent's inbox (or to the agents registered for ``kind``)."""
        m = hub.bus.share(
            source,
            target,
            payload,
            priority=priority,
            kind=kind,
            idempotency_key=idempotency_key,
        )
        return _message(m)

    @tool
    def bus_pending(agent: str, count: int = 10) -> dict[str, Any]:
        """Up to ``count`` unacknowledged messages of ``agent``, most urgent first."""
        return {"messages": [_message(m) for m in hub.bus.pending(agent, count)]}

    @tool
    def bus_ack(agent: str, message_ids: list[str]) -> dict[str, Any]:
        """Acknowledge messages (they leave the inbox); returns how many were new."""
        return {"acknowledged": hub.bus.ack_many(agent, message_ids)}

    # ---- events --------------------------------------------------------------------------

    @tool
    def events_publish(channel: str, data: JSON) -> dict[str, Any]:
        """Publish an event on a channel (e.g. ``task:done``)."""
        return _event(hub.events.publish(channel, data))

    @tool
    def events_read(
        patterns: Annotated[
            list[str] | None, Field(description="channels or patterns (task:*); omitted: all")
        ] = None,
        after: Annotated[str | None, Field(description="an event id; omitted: oldest")] = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """Retained events after ``after``, oldest first; pass ``last_id`` back as ``after``."""
        events = hub.events.read(*(patterns or ()), after=after, limit=limit)
        last = events[-1].id if events else after
        return {"events": [_event(e) for e in events], "last_id": last}

    # ---- patterns ------------------------------------------------------------------------

    @tool
    def patterns_store(repo: str, type: str, data: JSON, confidence: float = 0.5) -> dict[str, Any]:
        """Store a learned pattern (secrets anonymised first); the same one again counts one
        more observation."""
        return _pattern(hub.patterns.store(repo, type, data, confidence=confidence))

    @tool
    def patterns_insights(repo: str, limit: int = 10, window_days: int = 7) -> dict[str, Any]:
        """Top patterns, frequent issues, fix acceptance and trends of a repository."""
        return _insights(hub.patterns.insights(repo, limit=limit, window_days=window_days))

    # ---- memory --------------------------------------------------------------------------

    @tool
    def memory_remember(
        key: str,
        value: JSON,
        kind: MemoryKind = "semantic",
        category: str | None = None,
        significance: float = 0.5,
        entities: list[str] | None = None,
        scope: Scope = None,
        metadata: JSON = None,
        valid_from: Annotated[float | None, Field(description="Unix seconds; default now")] = None,
        valid_to: Annotated[float | None, Field(description="Unix seconds")] = None,
        source: str | None = None,
        embedding: list[float] | None = None,
        space: str = "default",
    ) -> dict[str, Any]:
        """Write a new version of a memory record (nothing is overwritten)."""
        r = hub.memory.remember(
            key,
            value,
            kind=kind,
            category=category,
            significance=significance,
            embedding=embedding,
            space=space,
            entities=entities,
            scope=scope,
            metadata=metadata,
            valid_from=valid_from,
            valid_to=valid_to,
            source=source,
        )
        return _record(r)

    @tool
    def memory_recall(
        key: str,
        scope: Scope = None,
        as_of: Annotated[float | None, Field(description="valid time; default now")] = None,
        known_at: Annotated[float | None, Field(description="transaction time")] = None,
    ) -> dict[str, Any]:
        """The version of ``key`` valid at ``as_of``; ``record`` is null if there is none."""
        r = hub.memory.recall(key, scope=scope, as_of=as_of, known_at=known_at)
        return {"record": None if r is None else _record(r)}

    @tool
    def memory_search(
        text: str | None = None,
        embedding: list[float] | None = None,
        space: str = "default",
        scope: Scope = None,
        around: Annotated[str | None, Field(description="an entity to search around")] = None,
        hops: int = 1,
        kinds: list[MemoryKind] | None = None,
        categories: list[str] | None = None,
        as_of: float | None = None,
        known_at: float | None = None,
        k: int = 10,
    ) -> dict[str, Any]:
        """Hybrid search over memory: keywords (BM25), vectors and the graph, fused."""
        hits = hub.memory.search(
            text,
            embedding,
            space=space,
            scope=scope,
            around=around,
            hops=hops,
            kinds=kinds,
            categories=categories,
            as_of=as_of,
            known_at=known_at,
            k=k,
        )
        return {"hits": [_hit(h) for h in hits]}

    return added
