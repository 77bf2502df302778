"""Type stubs of the native module ``zerolag._core`` (hand-written; checked against the built
module with ``mypy.stubtest`` by ``make test``).

Every method applies one rule to its arguments (docs/errors.md): text that is not valid Unicode
(a lone surrogate such as ``"\\ud800"``) and values JSON cannot hold (NaN, ±inf, integers
outside the signed/unsigned 64-bit range, bytes, sets, non-str keys, cycles, nesting deeper
than 64) raise ``ValidationError`` whose ``argument`` names the argument, and change nothing."""

import builtins
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from datetime import datetime as _datetime
from datetime import timedelta as _timedelta
from os import PathLike
from typing import Any, ClassVar, Literal, TypedDict, final, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .cache import LlmCache as _LlmCache

__version__: str

def _capabilities() -> list[str]:
    """Names of the capabilities in the registry (what ``Hub.health`` counts and
    ``Hub.clear`` deletes)."""

# A JSON value: dict (str keys), list, tuple, str, int (64-bit), float (finite), bool, None.
_JSON = Any

@final
class Health:
    """What :meth:`Hub.health` reports."""

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter."""

    @property
    def backend(self) -> str:
        """``"embedded"``, ``"redis"`` or ``"redis-cluster"``."""
    @property
    def server_version(self) -> str:
        """Redis/Valkey server version, or ``"SQLite x.y.z"``."""
    @property
    def rtt_ms(self) -> float:
        """Round trip to the store, in milliseconds."""
    @property
    def keys(self) -> int:
        """Keys (Redis) or rows (embedded) held by this namespace."""
    @property
    def by_capability(self) -> dict[str, int]:
        """Keys (Redis) or rows (embedded) per capability, in registry order; the change
        feed's entries count under ``"changes"``."""
    @property
    def namespace(self) -> str: ...
    @property
    def archive(self) -> str | None:
        """The attached archive's state in one line (``"archive ok"``, ``"archive degraded,
        1234 behind"``, ...; :meth:`Archive.health` has the details), None when no archive is
        attached to this hub."""

@final
class Transfer:
    """What :meth:`Hub.export` and :meth:`Hub.import_` did."""

    @property
    def path(self) -> str:
        """The file."""
    @property
    def namespace(self) -> str:
        """The namespace exported, or imported into."""
    @property
    def backend(self) -> str:
        """Its backend: ``"embedded"``, ``"redis"`` or ``"redis-cluster"``."""
    @property
    def source_namespace(self) -> str:
        """The namespace the file was exported from."""
    @property
    def source_backend(self) -> str:
        """The backend the file was exported from."""
    @property
    def created(self) -> float:
        """When the file was written (Unix seconds)."""
    @property
    def records(self) -> dict[str, int]:
        """Records per capability, in file order."""
    @property
    def total(self) -> int:
        """All records."""
    @property
    def bytes(self) -> int:
        """Size of the file."""
    @property
    def seconds(self) -> float:
        """Time taken."""
    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (what ``zerolag export --json`` prints)."""

@final
class Task:
    """A task as stored. Immutable; :meth:`Tasks.update` returns the new version."""

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def intent(self) -> str | None:
        """Intent type, normalised (lower-case, inner whitespace as ``_``)."""
    @property
    def keywords(self) -> list[str]:
        """Keywords, normalised like the intent, duplicates removed."""
    @property
    def patterns(self) -> list[str]: ...
    @property
    def confidence(self) -> float:
        """The model's confidence, 0..1."""
    @property
    def complexity(self) -> str | float | None:
        """``"low"``, ``"medium"``, ``"high"``, ``"critical"`` or a number 0..1."""
    @property
    def status(self) -> str: ...
    @property
    def progress(self) -> float: ...
    @property
    def related(self) -> list[str]:
        """Ids the model listed as related (see :meth:`Tasks.related` for both directions)."""
    @property
    def context_cascade(self) -> str | None: ...
    @property
    def estimated_effort(self) -> str | None: ...
    @property
    def metadata(self) -> dict[str, _JSON]: ...
    @property
    def created_at(self) -> float:
        """Unix seconds."""
    @property
    def updated_at(self) -> float:
        """Unix seconds."""
    @property
    def version(self) -> int:
        """1 at creation, +1 per update."""
    def to_dict(self) -> dict[str, _JSON]:
        """All fields as a plain, _JSON-ready dict."""
    def __eq__(self, value: object, /) -> bool: ...

@final
class SearchPage:
    """One page of :meth:`Tasks.search` results."""

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter."""

    @property
    def tasks(self) -> list[Task]: ...
    @property
    def next_cursor(self) -> str | None:
        """Pass as ``cursor=`` for the next page; ``None`` on the last page."""
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Task]: ...

_Order = Literal["confidence", "recent"]

@final
class Tasks:
    """``hub.tasks``: tasks with LLM-first indexing (blocking calls, GIL released)."""

    def create(self, title: str, **fields: Any) -> Task:
        """Create one task. Fields (all optional): ``id`` (generated if absent), ``description``,
        ``intent``, ``keywords``, ``patterns``, ``confidence`` (0..1, default 0.5),
        ``complexity``, ``status`` (default ``"pending"``), ``progress``, ``related``,
        ``context_cascade``, ``estimated_effort``, ``metadata`` (a _JSON mapping).
        Raises ConflictError if the id exists, ValidationError on bad input."""
    def create_many(self, items: Iterable[Mapping[str, Any] | Task]) -> list[Task]:
        """Create up to 10,000 tasks in one atomic step: all or none."""
    def get(self, id: str) -> Task:
        """The task; NotFoundError if there is none."""
    def get_many(self, ids: Iterable[str]) -> list[Task | None]:
        """Tasks by id, ``None`` where missing, in one round trip."""
    def update(self, id: str, *, if_version: int | None = None, **fields: Any) -> Task:
        """Partial update. ``None`` clears optional fields; ``metadata`` is merged key by key
        (a ``None`` value removes the key). With ``if_version`` the update fails with
        ConflictError unless the task is still at that version."""
    def delete(self, id: str) -> bool:
        """Delete the task, every index entry of it and its id in other tasks' related
        lists; True if it existed."""
    def apply_handoff(self, handoff: Mapping[str, Any]) -> Task:
        """Apply a model handoff (``action``: ``create_task`` | ``update_task`` |
        ``upsert_task``, ``taskId``, ``intent``, ``keywords``, ``patterns``, ``confidence``,
        ``related_tasks``, ``context_cascade``, ``estimated_effort``, ...). Unknown keys are
        kept in ``metadata["handoff"]``."""
    def search(
        self,
        *,
        intent: str | None = None,
        keywords: Sequence[str] | None = None,
        any_keywords: Sequence[str] | None = None,
        patterns: Sequence[str] | None = None,
        status: str | None = None,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        related_to: str | None = None,
        text: str | None = None,
        order: _Order = "confidence",
        limit: int = 20,
        cursor: str | None = None,
    ) -> SearchPage:
        """Tasks matching every given criterion: ``keywords`` all present, ``any_keywords`` at
        least one, every word of ``text`` in title or description, ``related_to`` in either
        direction. Ordered by confidence or most recent update (ties by id), ``limit`` per
        page (1..1000), keyset ``cursor`` from the previous page."""
    def related(self, id: str) -> list[Task]:
        """Tasks ``id`` lists as related plus tasks that list ``id``."""
    def count(self) -> int:
        """Number of tasks in the namespace."""
    def _dump_index(self) -> list[tuple[str, str, str]]:
        """The stored index as sorted ``(kind, term, id)`` rows (for consistency checks)."""

# ---- generated by scripts/gen_async_stubs.py: AsyncTasks ----
@final
class AsyncTasks:
    """``hub.tasks`` of an :class:`AsyncHub`: the operations of :class:`Tasks` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def create(self, title: str, **fields: Any) -> Coroutine[Any, Any, Task]:
        """Create one task. Fields (all optional): ``id`` (generated if absent), ``description``,
        ``intent``, ``keywords``, ``patterns``, ``confidence`` (0..1, default 0.5),
        ``complexity``, ``status`` (default ``"pending"``), ``progress``, ``related``,
        ``context_cascade``, ``estimated_effort``, ``metadata`` (a _JSON mapping).
        Raises ConflictError if the id exists, ValidationError on bad input."""
    def create_many(
        self, items: Iterable[Mapping[str, Any] | Task]
    ) -> Coroutine[Any, Any, list[Task]]:
        """Create up to 10,000 tasks in one atomic step: all or none."""
    def get(self, id: str) -> Coroutine[Any, Any, Task]:
        """The task; NotFoundError if there is none."""
    def get_many(self, ids: Iterable[str]) -> Coroutine[Any, Any, list[Task | None]]:
        """Tasks by id, ``None`` where missing, in one round trip."""
    def update(
        self, id: str, *, if_version: int | None = None, **fields: Any
    ) -> Coroutine[Any, Any, Task]:
        """Partial update. ``None`` clears optional fields; ``metadata`` is merged key by key
        (a ``None`` value removes the key). With ``if_version`` the update fails with
        ConflictError unless the task is still at that version."""
    def delete(self, id: str) -> Coroutine[Any, Any, bool]:
        """Delete the task, every index entry of it and its id in other tasks' related
        lists; True if it existed."""
    def apply_handoff(self, handoff: Mapping[str, Any]) -> Coroutine[Any, Any, Task]:
        """Apply a model handoff (``action``: ``create_task`` | ``update_task`` |
        ``upsert_task``, ``taskId``, ``intent``, ``keywords``, ``patterns``, ``confidence``,
        ``related_tasks``, ``context_cascade``, ``estimated_effort``, ...). Unknown keys are
        kept in ``metadata["handoff"]``."""
    def search(
        self,
        *,
        intent: str | None = None,
        keywords: Sequence[str] | None = None,
        any_keywords: Sequence[str] | None = None,
        patterns: Sequence[str] | None = None,
        status: str | None = None,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        related_to: str | None = None,
        text: str | None = None,
        order: _Order = "confidence",
        limit: int = 20,
        cursor: str | None = None,
    ) -> Coroutine[Any, Any, SearchPage]:
        """Tasks matching every given criterion: ``keywords`` all present, ``any_keywords`` at
        least one, every word of ``text`` in title or description, ``related_to`` in either
        direction. Ordered by confidence or most recent update (ties by id), ``limit`` per
        page (1..1000), keyset ``cursor`` from the previous page."""
    def related(self, id: str) -> Coroutine[Any, Any, list[Task]]:
        """Tasks ``id`` lists as related plus tasks that list ``id``."""
    def count(self) -> Coroutine[Any, Any, int]:
        """Number of tasks in the namespace."""
    def _dump_index(self) -> Coroutine[Any, Any, list[tuple[str, str, str]]]:
        """The stored index as sorted ``(kind, term, id)`` rows (for consistency checks)."""

# ---- end of generated AsyncTasks ----

@final
class Hub:
    """One handle on a store and a namespace. Use :func:`zerolag.open`."""

    def __new__(
        cls,
        url: str | None = None,
        *,
        root: str | PathLike[str] = ".",
        namespace: str = "default",
        partitions: int | None = None,
    ) -> Hub: ...
    @property
    def backend(self) -> str:
        """``"embedded"``, ``"redis"`` or ``"redis-cluster"``."""
    @property
    def namespace(self) -> str: ...
    @property
    def partitions(self) -> int:
        """The namespace's partition count: how its jobs, bus and events spread over hash
        tags (1 unless it was opened with ``partitions=N``; docs/scaling.md)."""
    @property
    def url(self) -> str | None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def archive(self) -> Archive:
        """The namespace's long-term archive in PostgreSQL (docs/archive.md)."""
    @property
    def bus(self) -> Bus: ...
    @property
    def cache(self) -> Cache:
        """The cache of this namespace (tags, single flight, LLM responses)."""
    @property
    def changes(self) -> Changes:
        """The change feed of this namespace: what each write changed, in order."""
    @property
    def docs(self) -> Docs: ...
    @property
    def sync(self) -> Sync: ...
    @property
    def events(self) -> Events: ...
    @property
    def jobs(self) -> Jobs: ...
    @property
    def kv(self) -> Kv:
        """The key-value and blob store of this namespace."""
    @property
    def limits(self) -> Limits:
        """Sliding-window rate limits of this namespace."""
    @property
    def sessions(self) -> Sessions:
        """Sessions with a time to live of this namespace."""
    @property
    def flags(self) -> Flags:
        """Feature flags (per user, rollouts, global switches) of this namespace."""
    @property
    def memory(self) -> Memory:
        """Records with two times, the memory graph and vector spaces of this namespace."""
    @property
    def patterns(self) -> Patterns: ...
    @property
    def tasks(self) -> Tasks: ...
    @property
    def analytics(self) -> Analytics:
        """Event counters and unique users of this namespace."""
    @property
    def trending(self) -> Trending:
        """Trending boards of this namespace."""
    @property
    def chat(self) -> Chat:
        """Chat conversations of this namespace: capped message logs, followed live."""
    @property
    def activity(self) -> Activity:
        """Per-user activity feeds of this namespace (the engine of ``chat``)."""
    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        token: str | None = None,
        cors: list[str] | None = None,
        ping: float = 15.0,
        buffer: int = 1024,
        max_clients: int = 1000,
    ) -> Server:
        """Serve this hub over HTTP (docs/http.md): ``/status``, ``/events``, ``/stream``,
        ``/analytics``, ``/realtime`` (server-sent events) and the dashboard at ``/``, on the
        runtime's threads (the GIL stays free); returns the running :class:`Server` (a context
        manager). ``port=0`` picks a free port (``server.port``). Binds to loopback by default;
        any other address needs ``token`` (16+ characters; ValidationError otherwise), which
        every request must then carry as ``Authorization: Bearer <token>``. ``cors``: origins
        allowed by CORS (``["*"]``: any); none by default. ``ping``: seconds between SSE
        keep-alive comments; ``buffer``: frames an SSE client may have waiting before it is
        dropped as too slow; ``max_clients``: SSE clients at once (503 beyond). OSError when
        the port is taken."""
    def health(self) -> Health:
        """Backend, server version, round-trip time and size of the namespace."""
    def metrics(self) -> _Metrics:
        """The operation counters of this process and the store gauges of this hub, as a
        dict: ``version``, ``backend``, ``namespace``, ``at`` (Unix seconds);
        ``operations`` (``[{"capability", "outcome", "count"}]``: calls from Python by
        capability and outcome, ``ok`` or the error's type such as ``validation`` or
        ``timeout``); ``latency`` (per capability: ``count``, ``sum_seconds`` and cumulative
        ``buckets`` ``[[upper bound in seconds, calls], ...]`` from 50 µs doubling to about
        13 s); ``store`` (``rtt_ms``); ``jobs`` (``counts`` as :meth:`Jobs.counts`,
        ``dead``); ``bus`` (``messages``, ``pending``, ``acknowledged``, ``dead``,
        ``agents``: ``[{"agent", "pending"}]``); ``events`` (``count``, ``last_id``);
        ``cache`` (``hits``, ``misses``, ``hit_ratio`` or None before the first read,
        ``entries``, ``bytes``); ``sync`` (``running``, ``pending_writebacks``, ``lag_ms``:
        the oldest pending write-back's age or None, and the running sync's ``conflicts``,
        ``errors``, ``parked``, None without one). About two store round trips whatever the
        number of jobs or agents."""
    def metrics_text(self) -> str:
        """:meth:`metrics` in the Prometheus text exposition format (0.0.4), names prefixed
        ``zerolag_`` (docs/observability.md lists them): what ``GET /metrics`` serves, for
        an application that exposes its own endpoint."""
    def clear(self) -> int:
        """Delete everything this namespace holds; returns keys/rows removed."""
    def erase(self, subject: str) -> dict[str, int]:
        """Remove ``subject`` (a user or agent id) from every capability that holds it and
        return what went per capability, zeros included (``{"activity", "bus", "chat",
        "flags", "memory", "sessions", "tasks"}``): memory scopes with an entry equal to it
        (records, their history, postings, vectors and graph edges), chat conversations and activity
        feeds whose id names it (``alice``, ``user:alice``, ``alice/support``), its sessions,
        metadata values equal to it in tasks (the tasks stay; each change is an update in
        the change feed), and bus messages sent by it or addressed to it by name (history,
        inboxes, broadcast log, dead letters, acks, idempotency entries) with its
        registration. With an archive attached to this hub the report has ``"archive"`` too:
        the subject's archived rows are deleted and it is recorded as erased, so the archiver
        never writes its rows again (ArchiveUnavailable while PostgreSQL is down, after the
        store's part: call again). Idempotent: a second call reports zeros. ValidationError
        for a subject that is not an id. What is not erased, and why: docs/erasure.md."""
    def export(self, path: str | PathLike[str]) -> Transfer:
        """Write everything this namespace holds (every capability's records) to ``path`` as
        one versioned JSON Lines file (docs/export.md). Read page by page; the file appears
        only once it is complete. Not a snapshot: writes during the export may or may not
        be in it."""
    def import_(self, path: str | PathLike[str]) -> Transfer:
        """Write the export at ``path`` into this namespace, from any backend to any backend.
        ConflictError if the namespace is not empty; ValidationError for a file that is cut
        short, damaged, of another format version or holding records zerolag would refuse
        (the message names the line). A failed import leaves the namespace empty again."""
    def close(self) -> None:
        """Close the hub; later calls raise ClosedError."""
    def __enter__(self) -> Hub: ...
    def __exit__(self, *args: object) -> bool: ...

# ---- generated by scripts/gen_async_stubs.py: AsyncHub ----
@final
class AsyncHub:
    """A handle for asyncio code: the operations of :class:`Hub` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    @property
    def backend(self) -> str:
        """``"embedded"``, ``"redis"`` or ``"redis-cluster"``."""
    @property
    def namespace(self) -> str: ...
    @property
    def partitions(self) -> int:
        """The namespace's partition count: how its jobs, bus and events spread over hash
        tags (1 unless it was opened with ``partitions=N``; docs/scaling.md)."""
    @property
    def url(self) -> str | None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def archive(self) -> AsyncArchive:
        """The namespace's long-term archive in PostgreSQL (docs/archive.md)."""
    @property
    def bus(self) -> AsyncBus: ...
    @property
    def cache(self) -> AsyncCache:
        """The cache of this namespace (tags, single flight, LLM responses)."""
    @property
    def changes(self) -> AsyncChanges:
        """The change feed of this namespace: what each write changed, in order."""
    @property
    def docs(self) -> AsyncDocs: ...
    @property
    def sync(self) -> Sync: ...
    @property
    def events(self) -> AsyncEvents: ...
    @property
    def jobs(self) -> AsyncJobs: ...
    @property
    def kv(self) -> AsyncKv:
        """The key-value and blob store of this namespace."""
    @property
    def limits(self) -> AsyncLimits:
        """Sliding-window rate limits of this namespace."""
    @property
    def sessions(self) -> AsyncSessions:
        """Sessions with a time to live of this namespace."""
    @property
    def flags(self) -> AsyncFlags:
        """Feature flags (per user, rollouts, global switches) of this namespace."""
    @property
    def memory(self) -> AsyncMemory:
        """Records with two times, the memory graph and vector spaces of this namespace."""
    @property
    def patterns(self) -> AsyncPatterns: ...
    @property
    def tasks(self) -> AsyncTasks: ...
    @property
    def analytics(self) -> AsyncAnalytics:
        """Event counters and unique users of this namespace."""
    @property
    def trending(self) -> AsyncTrending:
        """Trending boards of this namespace."""
    @property
    def chat(self) -> AsyncChat:
        """Chat conversations of this namespace: capped message logs, followed live."""
    @property
    def activity(self) -> AsyncActivity:
        """Per-user activity feeds of this namespace (the engine of ``chat``)."""
    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        token: str | None = None,
        cors: list[str] | None = None,
        ping: float = 15.0,
        buffer: int = 1024,
        max_clients: int = 1000,
    ) -> Server:
        """Serve this hub over HTTP (docs/http.md): ``/status``, ``/events``, ``/stream``,
        ``/analytics``, ``/realtime`` (server-sent events) and the dashboard at ``/``, on the
        runtime's threads (the GIL stays free); returns the running :class:`Server` (a context
        manager). ``port=0`` picks a free port (``server.port``). Binds to loopback by default;
        any other address needs ``token`` (16+ characters; ValidationError otherwise), which
        every request must then carry as ``Authorization: Bearer <token>``. ``cors``: origins
        allowed by CORS (``["*"]``: any); none by default. ``ping``: seconds between SSE
        keep-alive comments; ``buffer``: frames an SSE client may have waiting before it is
        dropped as too slow; ``max_clients``: SSE clients at once (503 beyond). OSError when
        the port is taken."""
    def health(self) -> Coroutine[Any, Any, Health]:
        """Backend, server version, round-trip time and size of the namespace."""
    def metrics(self) -> Coroutine[Any, Any, _Metrics]:
        """The operation counters of this process and the store gauges of this hub, as a
        dict: ``version``, ``backend``, ``namespace``, ``at`` (Unix seconds);
        ``operations`` (``[{"capability", "outcome", "count"}]``: calls from Python by
        capability and outcome, ``ok`` or the error's type such as ``validation`` or
        ``timeout``); ``latency`` (per capability: ``count``, ``sum_seconds`` and cumulative
        ``buckets`` ``[[upper bound in seconds, calls], ...]`` from 50 µs doubling to about
        13 s); ``store`` (``rtt_ms``); ``jobs`` (``counts`` as :meth:`Jobs.counts`,
        ``dead``); ``bus`` (``messages``, ``pending``, ``acknowledged``, ``dead``,
        ``agents``: ``[{"agent", "pending"}]``); ``events`` (``count``, ``last_id``);
        ``cache`` (``hits``, ``misses``, ``hit_ratio`` or None before the first read,
        ``entries``, ``bytes``); ``sync`` (``running``, ``pending_writebacks``, ``lag_ms``:
        the oldest pending write-back's age or None, and the running sync's ``conflicts``,
        ``errors``, ``parked``, None without one). About two store round trips whatever the
        number of jobs or agents."""
    def metrics_text(self) -> Coroutine[Any, Any, str]:
        """:meth:`metrics` in the Prometheus text exposition format (0.0.4), names prefixed
        ``zerolag_`` (docs/observability.md lists them): what ``GET /metrics`` serves, for
        an application that exposes its own endpoint."""
    def clear(self) -> Coroutine[Any, Any, int]:
        """Delete everything this namespace holds; returns keys/rows removed."""
    def erase(self, subject: str) -> Coroutine[Any, Any, dict[str, int]]:
        """Remove ``subject`` (a user or agent id) from every capability that holds it and
        return what went per capability, zeros included (``{"activity", "bus", "chat",
        "flags", "memory", "sessions", "tasks"}``): memory scopes with an entry equal to it
        (records, their history, postings, vectors and graph edges), chat conversations and activity
        feeds whose id names it (``alice``, ``user:alice``, ``alice/support``), its sessions,
        metadata values equal to it in tasks (the tasks stay; each change is an update in
        the change feed), and bus messages sent by it or addressed to it by name (history,
        inboxes, broadcast log, dead letters, acks, idempotency entries) with its
        registration. With an archive attached to this hub the report has ``"archive"`` too:
        the subject's archived rows are deleted and it is recorded as erased, so the archiver
        never writes its rows again (ArchiveUnavailable while PostgreSQL is down, after the
        store's part: call again). Idempotent: a second call reports zeros. ValidationError
        for a subject that is not an id. What is not erased, and why: docs/erasure.md."""
    def export(self, path: str | PathLike[str]) -> Coroutine[Any, Any, Transfer]:
        """Write everything this namespace holds (every capability's records) to ``path`` as
        one versioned JSON Lines file (docs/export.md). Read page by page; the file appears
        only once it is complete. Not a snapshot: writes during the export may or may not
        be in it."""
    def import_(self, path: str | PathLike[str]) -> Coroutine[Any, Any, Transfer]:
        """Write the export at ``path`` into this namespace, from any backend to any backend.
        ConflictError if the namespace is not empty; ValidationError for a file that is cut
        short, damaged, of another format version or holding records zerolag would refuse
        (the message names the line). A failed import leaves the namespace empty again."""
    def close(self) -> Coroutine[Any, Any, None]:
        """Close the hub; later calls raise ClosedError."""
    @classmethod
    def connect(
        cls,
        url: str | None = None,
        *,
        root: str | PathLike[str] = ".",
        namespace: str = "default",
        partitions: int | None = None,
    ) -> Coroutine[Any, Any, AsyncHub]:
        """Connect and return the hub (``await AsyncHub.connect(...)``); see
        :func:`zerolag.open_async`."""
    def _noop(self, *, hop: bool = False) -> Coroutine[Any, Any, None]:
        """An operation without I/O, for timing an ``await`` itself (``hop=True``: through the
        runtime and back to the event loop, the path of every operation that has to wait)."""
    def __aenter__(self) -> Coroutine[Any, Any, AsyncHub]: ...
    def __aexit__(self, *args: object) -> Coroutine[Any, Any, bool]: ...

# ---- end of generated AsyncHub ----

# ---- changes (src/py/changes.rs) --------------------------------------------------------

_ChangeKind = Literal["created", "updated", "deleted"]

@final
class Change:
    """One change of the feed: which record of which capability, its version after the
    change, and what happened."""

    @property
    def capability(self) -> str:
        """The capability that wrote it: ``"tasks"``, ``"docs"``, ..."""
    @property
    def id(self) -> str:
        """The record's id (a task id, a document path, ...)."""
    @property
    def version(self) -> int:
        """The record's version after the change (for a delete: its last version)."""
    @property
    def kind(self) -> _ChangeKind: ...
    @property
    def time(self) -> float:
        """When, in seconds since the epoch."""
    def __eq__(self, value: object, /) -> bool: ...

@final
class ChangePage:
    """A page of the change feed: changes oldest first, and the cursor after them."""

    @property
    def changes(self) -> list[Change]: ...
    @property
    def cursor(self) -> str:
        """Pass it as ``after`` to read on."""
    def __len__(self) -> int: ...

@final
class ChangeSubscription:
    """The changes of the feed as they come, from :meth:`Changes.subscribe`: iterate it
    (blocks; Ctrl-C interrupts) or call :meth:`get` with a timeout. When the feed no longer
    keeps changes it has not handed out, it raises :class:`zerolag.RescanRequired` once and
    then goes on from the feed's end."""

    def __iter__(self) -> ChangeSubscription: ...
    def __next__(self) -> Change: ...
    def get(self, timeout: float | None = None) -> Change | None:
        """The next change, or None after ``timeout`` seconds (None: wait as long as it takes)."""
    @property
    def cursor(self) -> str | None:
        """The cursor after the last change handed out (pass it as ``after`` to resume)."""
    def close(self) -> None:
        """Stops the iteration."""
    def __enter__(self) -> ChangeSubscription: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class AsyncChangeSubscription:
    """The changes of the feed as they come, for asyncio: ``async for ch in
    hub.changes.subscribe()``; :class:`zerolag.RescanRequired` as for
    :class:`ChangeSubscription`."""

    def __aiter__(self) -> AsyncChangeSubscription: ...
    def __anext__(self) -> Coroutine[Any, Any, Change]: ...
    def get(self, timeout: float | None = None) -> Coroutine[Any, Any, Change | None]:
        """The next change, or None after ``timeout`` seconds (None: wait as long as it takes)."""
    @property
    def cursor(self) -> str | None:
        """The cursor after the last change handed out (None before the first read)."""
    def aclose(self) -> Coroutine[Any, Any, None]:
        """Stops the iteration."""
    def __aenter__(self) -> Coroutine[Any, Any, AsyncChangeSubscription]: ...
    def __aexit__(self, *args: object) -> Coroutine[Any, Any, bool]: ...

@final
class Changes:
    """``hub.changes``: the namespace's change feed. Each write of a capability that keeps
    one (tasks, docs, memory; the cache for its semantic entries, ids ``sem:<key>``) appends
    what it changed, in the same atomic step as the write; readers
    follow it with a cursor, across processes and restarts, while the feed keeps the entries
    (the newest 10,000 per capability).

    Order is exact within a capability and by time across capabilities. A reader whose
    cursor is behind what the feed keeps (or from before a ``hub.clear()``) gets
    :class:`zerolag.RescanRequired`: re-read the data it keeps, then go on from the
    exception's ``cursor``.
    """

    def read(
        self, after: str | None = None, *, limit: int = 100, block: float | None = None
    ) -> ChangePage:
        """Changes after ``after`` (None: from the oldest kept), at most ``limit``, waiting
        up to ``block`` seconds for the first (None or 0: returns at once)."""
    def cursor(self) -> str:
        """The cursor at the end of the feed now: reading after it returns later changes."""
    def subscribe(self, after: str | None = None) -> ChangeSubscription:
        """The changes after ``after`` (None: from now) as a blocking iterator."""

# ---- generated by scripts/gen_async_stubs.py: AsyncChanges ----
@final
class AsyncChanges:
    """``hub.changes`` of an :class:`AsyncHub`: the operations of :class:`Changes` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def read(
        self, after: str | None = None, *, limit: int = 100, block: float | None = None
    ) -> Coroutine[Any, Any, ChangePage]:
        """Changes after ``after`` (None: from the oldest kept), at most ``limit``, waiting
        up to ``block`` seconds for the first (None or 0: returns at once)."""
    def cursor(self) -> Coroutine[Any, Any, str]:
        """The cursor at the end of the feed now: reading after it returns later changes."""
    def subscribe(self, after: str | None = None) -> AsyncChangeSubscription:
        """The changes after ``after`` (None: from the end of the feed when first used) as an
        async iterator (``async for ch in hub.changes.subscribe()``)."""

# ---- end of generated AsyncChanges ----

# ---- kv (src/py/kv.rs) ----------------------------------------------------------------

_KvValue = bytes | str | _JSON

@final
class KvItem:
    """One stored key of :class:`Kv`, with its version and expiry."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> _KvValue:
        """The value: bytes, str or a JSON value, as it was stored."""
    @property
    def version(self) -> int:
        """1 for a new key, one more for every write (for ``set(..., if_version=)``)."""
    @property
    def expires_at(self) -> float | None:
        """When it expires, in seconds since the epoch (None: never)."""

@final
class KeyPage:
    """A page of keys of :meth:`Kv.keys_page`."""

    @property
    def keys(self) -> list[str]:
        """The keys, in byte order."""
    @property
    def next(self) -> str | None:
        """Pass it as ``after`` for the next page (None: this was the last)."""

@final
class KeyIterator:
    """The keys under a prefix, from :meth:`Kv.keys`, fetched a page at a time."""

    def __iter__(self) -> KeyIterator: ...
    def __next__(self) -> str: ...

@final
class AsyncKeyIterator:
    """The keys under a prefix, from :meth:`AsyncKv.keys`."""

    def __aiter__(self) -> AsyncKeyIterator: ...
    def __anext__(self) -> Coroutine[Any, Any, str]: ...

@final
class Kv:
    """``hub.kv``: a key-value and blob store. Values are ``bytes``, ``str`` or any JSON value
    and come back as the same kind; keys are any text of 1 to 1,024 bytes (never used as a
    pattern); each key has a version (compare-and-set) and an optional time to live. Not
    mirrored to files. Values are limited to 16 MiB unless :meth:`configure` says otherwise.
    """

    def configure(self, *, max_value: int | None = None) -> dict[str, int]:
        """This handle's limits (``max_value`` in bytes); returns those in force."""
    def get(self, key: str, default: Any = None) -> Any:
        """The value at ``key``, or ``default`` when there is none (or it expired)."""
    def item(self, key: str) -> KvItem:
        """The stored item at ``key`` with its version and expiry (NotFoundError if none)."""
    def get_many(self, keys: Iterable[str]) -> list[Any]:
        """Values by key, None where missing."""
    def set(
        self, key: str, value: _KvValue, *, ttl: float | None = None, if_version: int | None = None
    ) -> int:
        """Store ``value`` at ``key`` with ``ttl`` seconds to live (None: no expiry, and an
        earlier one is removed); ``if_version`` makes it a compare-and-set (0: only if the key
        does not exist), ConflictError otherwise. Returns the key's new version."""
    def set_many(
        self,
        items: Mapping[str, _KvValue] | Iterable[tuple[str, _KvValue]],
        *,
        ttl: float | None = None,
    ) -> list[int]:
        """Store several keys at once, all or none, each with ``ttl``; returns their versions."""
    def delete(self, key: str) -> bool:
        """Delete ``key``; True if it existed."""
    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete keys; returns how many existed."""
    def incr(self, key: str, by: int = 1, *, ttl: float | None = None) -> int:
        """Add ``by`` to the integer at ``key`` atomically (a missing key counts as 0 and gets
        ``ttl``); returns the result. ValidationError if the value is not an integer or the
        sum leaves 64 bits."""
    def expire(self, key: str, ttl: float | None) -> bool:
        """Set the time to live of ``key`` to ``ttl`` seconds (None: no expiry); False if
        there is no such key."""
    def touch(self, key: str) -> bool:
        """Extend the expiry of ``key`` by its time to live again (sliding expiry); False if
        there is no such key."""
    def ttl(self, key: str) -> float | None:
        """Seconds ``key`` has left (None: it does not expire); NotFoundError if missing."""
    def keys_page(
        self,
        prefix: str = "",
        *,
        after: str | None = None,
        limit: int = 1000,
        reverse: bool = False,
    ) -> KeyPage:
        """One page of the keys starting with ``prefix``, in byte order, after ``after``
        (``reverse``: in descending order, below ``after``; ``keys_page(p, limit=1,
        reverse=True)`` is the greatest key under ``p``)."""
    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with ``prefix`` (page by page, not as one atomic step);
        returns how many went."""
    def sweep(self) -> int:
        """Remove expired keys now (reads never return them anyway); returns how many."""
    def keys(self, prefix: str = "") -> KeyIterator:
        """The keys starting with ``prefix``, in byte order, fetched page by page."""

# ---- generated by scripts/gen_async_stubs.py: AsyncKv ----
@final
class AsyncKv:
    """``hub.kv`` of an :class:`AsyncHub`: the operations of :class:`Kv` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def configure(self, *, max_value: int | None = None) -> dict[str, int]:
        """This handle's limits (``max_value`` in bytes); returns those in force."""
    def get(self, key: str, default: Any = None) -> Coroutine[Any, Any, Any]:
        """The value at ``key``, or ``default`` when there is none (or it expired)."""
    def item(self, key: str) -> Coroutine[Any, Any, KvItem]:
        """The stored item at ``key`` with its version and expiry (NotFoundError if none)."""
    def get_many(self, keys: Iterable[str]) -> Coroutine[Any, Any, list[Any]]:
        """Values by key, None where missing."""
    def set(
        self, key: str, value: _KvValue, *, ttl: float | None = None, if_version: int | None = None
    ) -> Coroutine[Any, Any, int]:
        """Store ``value`` at ``key`` with ``ttl`` seconds to live (None: no expiry, and an
        earlier one is removed); ``if_version`` makes it a compare-and-set (0: only if the key
        does not exist), ConflictError otherwise. Returns the key's new version."""
    def set_many(
        self,
        items: Mapping[str, _KvValue] | Iterable[tuple[str, _KvValue]],
        *,
        ttl: float | None = None,
    ) -> Coroutine[Any, Any, list[int]]:
        """Store several keys at once, all or none, each with ``ttl``; returns their versions."""
    def delete(self, key: str) -> Coroutine[Any, Any, bool]:
        """Delete ``key``; True if it existed."""
    def delete_many(self, keys: Iterable[str]) -> Coroutine[Any, Any, int]:
        """Delete keys; returns how many existed."""
    def incr(self, key: str, by: int = 1, *, ttl: float | None = None) -> Coroutine[Any, Any, int]:
        """Add ``by`` to the integer at ``key`` atomically (a missing key counts as 0 and gets
        ``ttl``); returns the result. ValidationError if the value is not an integer or the
        sum leaves 64 bits."""
    def expire(self, key: str, ttl: float | None) -> Coroutine[Any, Any, bool]:
        """Set the time to live of ``key`` to ``ttl`` seconds (None: no expiry); False if
        there is no such key."""
    def touch(self, key: str) -> Coroutine[Any, Any, bool]:
        """Extend the expiry of ``key`` by its time to live again (sliding expiry); False if
        there is no such key."""
    def ttl(self, key: str) -> Coroutine[Any, Any, float | None]:
        """Seconds ``key`` has left (None: it does not expire); NotFoundError if missing."""
    def keys_page(
        self,
        prefix: str = "",
        *,
        after: str | None = None,
        limit: int = 1000,
        reverse: bool = False,
    ) -> Coroutine[Any, Any, KeyPage]:
        """One page of the keys starting with ``prefix``, in byte order, after ``after``
        (``reverse``: in descending order, below ``after``; ``keys_page(p, limit=1,
        reverse=True)`` is the greatest key under ``p``)."""
    def delete_prefix(self, prefix: str) -> Coroutine[Any, Any, int]:
        """Delete every key starting with ``prefix`` (page by page, not as one atomic step);
        returns how many went."""
    def sweep(self) -> Coroutine[Any, Any, int]:
        """Remove expired keys now (reads never return them anyway); returns how many."""
    def keys(self, prefix: str = "") -> AsyncKeyIterator:
        """The keys starting with ``prefix``, in byte order, as an async iterator."""

# ---- end of generated AsyncKv ----

# ---- archive (src/py/archive.rs, src/archive/) -----------------------------------------
class _ArchiveHealth(TypedDict):
    status: Literal["ok", "degraded", "standby", "detached"]
    message: str
    behind: int
    leader: bool
    last_error: str | None
    archived: dict[str, int]
    lost: dict[str, int]
    last_ok: float | None

class _ArchiveStats(TypedDict):
    messages: int
    acks: int
    dead_letters: int
    events: int
    jobs: int
    tasks: int
    patterns: int
    oldest: float | None
    newest: float | None
    bytes: int

@final
class ArchivedMessage:
    """A bus message as the archive keeps it."""

    @property
    def id(self) -> str: ...
    @property
    def time(self) -> float:
        """When it was shared, seconds since the epoch."""
    @property
    def sender(self) -> str: ...
    @property
    def recipients(self) -> list[str]:
        """The receiving agents (``["*"]`` for a broadcast)."""
    @property
    def kind(self) -> str | None: ...
    @property
    def priority(self) -> str: ...
    @property
    def broadcast(self) -> bool: ...
    @property
    def payload(self) -> Any: ...
    @property
    def acked_at(self) -> float | None:
        """When it was acknowledged, seconds since the epoch (None: not acknowledged)."""

@final
class ArchivePage:
    """A page of archived history, newest first (``len()`` and iteration over its messages)."""

    @property
    def messages(self) -> list[ArchivedMessage]: ...
    @property
    def next_cursor(self) -> str | None:
        """Pass it as ``cursor`` for the next (older) page; None when this was the last."""
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[ArchivedMessage]: ...

@final
class Archive:
    """``hub.archive``: the namespace's long-term archive in PostgreSQL (docs/archive.md).
    Bus messages and acknowledgements, dead letters, events, finished jobs, task versions and
    pattern records are copied in the background, exactly once. Queries raise
    :class:`~zerolag.exceptions.ArchiveUnavailable` while PostgreSQL cannot be reached (or
    nothing is attached); everything else in the hub goes on."""

    def attach(self, dsn: str, *, batch: int = 5000, poll: float = 0.1) -> None:
        """Connect to the archive at ``dsn`` (``postgresql://user@host:port/db`` or
        ``key=value`` pairs), create or migrate its tables and start archiving in the
        background. A server that cannot be reached does not fail it (``health()`` says
        degraded until it can); a refused login raises AuthenticationError. The same DSN
        again does nothing; another while one is attached raises ValidationError."""
    def detach(self) -> None:
        """Stop archiving and release the namespace's lease (the cursors stay: attaching
        again goes on where it stopped)."""
    @property
    def attached(self) -> bool: ...
    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until the archive holds what the store held at the call; False when
        ``timeout`` seconds passed first."""
    def health(self) -> _ArchiveHealth:
        """The archive's state: ``status`` (ok, degraded, standby: another process
        archives, detached), ``message`` ("archive degraded, 1234 behind"), ``behind``,
        ``leader``, ``last_error``, rows ``archived`` and ``lost`` per source, ``last_ok``."""
    def history(
        self,
        agent: str | None = None,
        kinds: list[str] | None = None,
        since: float | _datetime | None = None,
        until: float | _datetime | None = None,
        text: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> ArchivePage:
        """Archived bus messages, newest first: those ``agent`` sent or received
        (broadcasts included), of ``kinds``, shared in ``[since, until)`` (seconds or
        datetimes), matching ``text`` (full-text search: words, "phrases", -excluded, or).
        Pass the page's ``next_cursor`` as ``cursor`` for the next page."""
    def cross_agent_insights(
        self, since: float | _datetime | None = None, until: float | _datetime | None = None
    ) -> dict[str, Any]:
        """``messages``: ``[{"sender", "receiver", "kind", "day", "count"}]``;
        ``ack_latency_ms``: ``{"count", "p50", "p90", "p99"}``; ``dead_letters``:
        ``[{"agent", "reason", "count"}]``; over messages shared in ``[since, until)``."""
    def stats(self) -> _ArchiveStats:
        """Archived rows per source, the oldest and newest message or event time (seconds),
        and the bytes the namespace's rows take."""
    def clear(self, *, confirm: str) -> int:
        """Delete this namespace's archived rows and the store's archive cursors, and
        detach; ``confirm`` must be the namespace. Returns the rows deleted."""
    def erase(self, subject: str) -> dict[str, int]:
        """Remove ``subject`` (an agent or user id) from the archive only and record it so
        it is never archived again; rows removed per source (``hub.erase`` does this and
        the store's part)."""
    def __repr__(self) -> str: ...

# ---- generated by scripts/gen_async_stubs.py: AsyncArchive ----
@final
class AsyncArchive:
    """``hub.archive`` of an :class:`AsyncHub`: the operations of :class:`Archive` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def attach(
        self, dsn: str, *, batch: int = 5000, poll: float = 0.1
    ) -> Coroutine[Any, Any, None]:
        """Connect to the archive at ``dsn`` (``postgresql://user@host:port/db`` or
        ``key=value`` pairs), create or migrate its tables and start archiving in the
        background. A server that cannot be reached does not fail it (``health()`` says
        degraded until it can); a refused login raises AuthenticationError. The same DSN
        again does nothing; another while one is attached raises ValidationError."""
    def detach(self) -> Coroutine[Any, Any, None]:
        """Stop archiving and release the namespace's lease (the cursors stay: attaching
        again goes on where it stopped)."""
    @property
    def attached(self) -> bool: ...
    def flush(self, timeout: float = 30.0) -> Coroutine[Any, Any, bool]:
        """Wait until the archive holds what the store held at the call; False when
        ``timeout`` seconds passed first."""
    def health(self) -> Coroutine[Any, Any, _ArchiveHealth]:
        """The archive's state: ``status`` (ok, degraded, standby: another process
        archives, detached), ``message`` ("archive degraded, 1234 behind"), ``behind``,
        ``leader``, ``last_error``, rows ``archived`` and ``lost`` per source, ``last_ok``."""
    def history(
        self,
        agent: str | None = None,
        kinds: list[str] | None = None,
        since: float | _datetime | None = None,
        until: float | _datetime | None = None,
        text: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Coroutine[Any, Any, ArchivePage]:
        """Archived bus messages, newest first: those ``agent`` sent or received
        (broadcasts included), of ``kinds``, shared in ``[since, until)`` (seconds or
        datetimes), matching ``text`` (full-text search: words, "phrases", -excluded, or).
        Pass the page's ``next_cursor`` as ``cursor`` for the next page."""
    def cross_agent_insights(
        self, since: float | _datetime | None = None, until: float | _datetime | None = None
    ) -> Coroutine[Any, Any, dict[str, Any]]:
        """``messages``: ``[{"sender", "receiver", "kind", "day", "count"}]``;
        ``ack_latency_ms``: ``{"count", "p50", "p90", "p99"}``; ``dead_letters``:
        ``[{"agent", "reason", "count"}]``; over messages shared in ``[since, until)``."""
    def stats(self) -> Coroutine[Any, Any, _ArchiveStats]:
        """Archived rows per source, the oldest and newest message or event time (seconds),
        and the bytes the namespace's rows take."""
    def clear(self, *, confirm: str) -> Coroutine[Any, Any, int]:
        """Delete this namespace's archived rows and the store's archive cursors, and
        detach; ``confirm`` must be the namespace. Returns the rows deleted."""
    def erase(self, subject: str) -> Coroutine[Any, Any, dict[str, int]]:
        """Remove ``subject`` (an agent or user id) from the archive only and record it so
        it is never archived again; rows removed per source (``hub.erase`` does this and
        the store's part)."""
    def __repr__(self) -> str: ...

# ---- end of generated AsyncArchive ----

# ---- memory store (src/py/memory_store.rs) ---------------------------------------------

_Time = _datetime | float
_Scope = Mapping[str, str]

@final
class MemoryRecord:
    """One stored version of a record of :class:`Memory`: its value and labels, its valid
    time (``valid_from``/``valid_to``, given by the caller) and its transaction times
    (``recorded_at``, and ``superseded_at`` once a later version cut its interval), all in
    Unix seconds."""

    @property
    def key(self) -> str: ...
    @property
    def version(self) -> int:
        """1, 2, ... per (scope, key)."""
    @property
    def value(self) -> Any:
        """The value as given (str or a JSON value); None for a tombstone."""
    @property
    def kind(self) -> str:
        """``semantic``, ``episodic`` or ``procedural``."""
    @property
    def category(self) -> str | None: ...
    @property
    def significance(self) -> float: ...
    @property
    def scope(self) -> dict[str, str] | None:
        """The scope (None: the global scope)."""
    @property
    def entities(self) -> list[str]: ...
    @property
    def metadata(self) -> Any: ...
    @property
    def source(self) -> str | None: ...
    @property
    def valid_from(self) -> float: ...
    @property
    def valid_to(self) -> float | None:
        """As stored (None: open-ended); a later version may end it earlier on the line."""
    @property
    def recorded_at(self) -> float:
        """When the store recorded this version (transaction time)."""
    @property
    def superseded_at(self) -> float | None:
        """When a later-recorded version first cut this version's valid-time interval."""
    @property
    def deleted(self) -> bool:
        """A tombstone written by :meth:`Memory.forget`."""
    @property
    def row(self) -> int:
        """The namespace-wide row id of this version (the id the search indexes use)."""
    @property
    def has_embedding(self) -> bool: ...
    @property
    def space(self) -> str | None:
        """The vector space of its embedding, if it has one."""

@final
class MemoryHit:
    """One result of :meth:`Memory.search`: the record, the fused score, and each signal's
    ``(score, rank)`` (None where that signal did not rank the record or was not asked)."""

    @property
    def record(self) -> MemoryRecord:
        """The version found (the one valid at the search's ``as_of``, as known at its
        ``known_at``)."""
    @property
    def score(self) -> float:
        """The fused score: reciprocal rank fusion, or the weighted sum of normalised scores."""
    @property
    def keyword(self) -> tuple[float, int] | None:
        """BM25 score and rank."""
    @property
    def vector(self) -> tuple[float, int] | None:
        """Similarity (cosine or dot, exact after the int8 scan) and rank."""
    @property
    def graph(self) -> tuple[float, int] | None:
        """``1 / (1 + hops)`` from the entity searched around, and rank."""
    def signals(self) -> dict[str, tuple[float, int]]:
        """Every signal that ranked the record, by name."""

@final
class MemoryEdge:
    """An edge of the memory graph, ``src -relation-> dst``, with its valid time, when it was
    recorded, and its invalidation (``invalidated_at``: the valid time it ends at;
    ``expired_at``: when that was recorded) as known at the ``known_at`` it was read with."""

    @property
    def id(self) -> int: ...
    @property
    def src(self) -> str: ...
    @property
    def relation(self) -> str: ...
    @property
    def dst(self) -> str: ...
    @property
    def scope(self) -> dict[str, str] | None: ...
    @property
    def valid_from(self) -> float: ...
    @property
    def valid_to(self) -> float | None: ...
    @property
    def confidence(self) -> float: ...
    @property
    def metadata(self) -> Any: ...
    @property
    def recorded_at(self) -> float: ...
    @property
    def invalidated_at(self) -> float | None: ...
    @property
    def expired_at(self) -> float | None: ...
    @property
    def has_embedding(self) -> bool: ...

class _MemorySpace(TypedDict):
    name: str
    dim: int
    metric: str

@final
class Memory:
    """``hub.memory``: records with two times, a graph with edge invalidation, and vector
    spaces. Every write of a (scope, key) is a new version; nothing is overwritten. Times are
    Unix seconds or datetimes. ``scope`` (a dict such as ``{"user": "u1"}``, None for the
    global scope) partitions everything: no read sees another scope. Keys are any text of 1
    to 512 bytes; entity ids and relations are ids like task ids. Limits: value 1 MiB and
    metadata 64 KiB serialized, 64 entities, 1,000 records per batch."""

    def remember(
        self,
        key: str,
        value: Any,
        *,
        kind: Literal["semantic", "episodic", "procedural"] = "semantic",
        category: str | None = None,
        significance: float = 0.5,
        embedding: ArrayLike | None = None,
        space: str = "default",
        entities: Iterable[str] | None = None,
        scope: _Scope | None = None,
        metadata: _JSON | None = None,
        valid_from: _Time | None = None,
        valid_to: _Time | None = None,
        source: str | None = None,
    ) -> MemoryRecord:
        """Write a new version of ``key`` valid from ``valid_from`` (default now) to
        ``valid_to`` (default open-ended) and return it. ``value`` is a str or any JSON value
        (its text, or its string leaves, is indexed for keywords); ``embedding`` (a 1-D array)
        goes to the declared vector space ``space``. The new version ends an earlier one whose
        interval it starts in; a back-dated one ends where the next version begins."""
    def remember_many(
        self, items: Iterable[Mapping[str, Any] | tuple[str, Any]]
    ) -> list[MemoryRecord]:
        """Write many records in one atomic call: dicts with ``key``, ``value`` and any option
        of :meth:`remember`, or ``(key, value)`` tuples. All or none."""
    def recall(
        self,
        key: str,
        *,
        scope: _Scope | None = None,
        as_of: _Time | None = None,
        known_at: _Time | None = None,
    ) -> MemoryRecord | None:
        """The version of ``key`` valid at ``as_of`` (default now) as the store knew it at
        ``known_at`` (default: everything recorded); None if there is none or it was
        forgotten."""
    def history(self, key: str, *, scope: _Scope | None = None) -> list[MemoryRecord]:
        """Every version of ``key`` (tombstones included) with its times, oldest first."""
    def forget(
        self, key: str, *, at: _Time | None = None, scope: _Scope | None = None
    ) -> MemoryRecord:
        """Write a tombstone version valid from ``at`` (default now): recall finds nothing
        from then on; history keeps everything. Returns the tombstone."""
    def purge(self, key: str, *, scope: _Scope | None = None) -> int:
        """Delete every version of ``key`` physically, with its postings and vectors; returns
        how many versions went."""
    def forget_scope(self, scope: _Scope) -> int:
        """Erase every record, edge, posting and vector of ``scope`` (a user who asks to be
        forgotten); returns how many records and edges went."""
    def space(
        self, name: str, dim: int, metric: Literal["cosine", "dot"] = "cosine"
    ) -> _MemorySpace:
        """Declare vector space ``name`` (persisted). Declaring it again with the same
        ``dim`` and ``metric`` is fine; with others it is a ValidationError."""
    def spaces(self) -> list[_MemorySpace]:
        """The declared vector spaces, by name."""
    def relate(
        self,
        src: str,
        relation: str,
        dst: str,
        *,
        valid_from: _Time | None = None,
        valid_to: _Time | None = None,
        confidence: float = 1.0,
        exclusive: bool = False,
        embedding: ArrayLike | None = None,
        space: str = "default",
        metadata: _JSON | None = None,
        scope: _Scope | None = None,
    ) -> MemoryEdge:
        """Add the edge ``src -relation-> dst``. ``exclusive``: a relation that holds for one
        ``dst`` at a time; every other edge of the same ``src`` and ``relation`` valid at this
        one's ``valid_from`` is invalidated then (kept, with the time it was recorded), and an
        existing one that starts later ends this one where it begins."""
    def edges(
        self,
        entity: str,
        *,
        relation: str | None = None,
        direction: Literal["out", "in", "both"] = "out",
        as_of: _Time | None = None,
        known_at: _Time | None = None,
        scope: _Scope | None = None,
    ) -> list[MemoryEdge]:
        """The edges of ``entity`` valid at ``as_of`` (default now) as known at ``known_at``
        (default: everything recorded), by id."""
    def search(
        self,
        text: str | None = None,
        embedding: ArrayLike | None = None,
        *,
        space: str = "default",
        scope: _Scope | None = None,
        around: str | None = None,
        hops: int = 1,
        kinds: list[Literal["semantic", "episodic", "procedural"]] | None = None,
        categories: list[str] | None = None,
        as_of: _Time | None = None,
        known_at: _Time | None = None,
        k: int = 10,
        fusion: Literal["rrf", "weighted"] = "rrf",
        weights: list[float] | None = None,
    ) -> list[MemoryHit]:
        """Hybrid search over the records of ``scope`` (None: the global scope) valid at
        ``as_of`` (default now) as known at ``known_at``: BM25 over ``text``, vector
        similarity to ``embedding`` in ``space`` (int8 scan, exact re-rank), and the records
        linked to the entities within ``hops`` of ``around``; fused by reciprocal rank fusion
        (``fusion="weighted"``: a weighted sum of min-max normalised scores, ``weights`` for
        keyword, vector, graph). Optional filters: ``kinds``, ``categories``. Best ``k``
        first. Runs on an in-process index that the first search loads and the change feed
        keeps current (other processes' writes included)."""
    def neighbors(
        self,
        entity: str,
        *,
        hops: int = 1,
        as_of: _Time | None = None,
        scope: _Scope | None = None,
    ) -> list[tuple[str, int]]:
        """The entities within ``hops`` (1 to 3) of ``entity`` over edges valid at ``as_of``,
        either direction, with their distance: nearest first, then by id."""

# ---- generated by scripts/gen_async_stubs.py: AsyncMemory ----
@final
class AsyncMemory:
    """``hub.memory`` of an :class:`AsyncHub`: the operations of :class:`Memory` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def remember(
        self,
        key: str,
        value: Any,
        *,
        kind: Literal["semantic", "episodic", "procedural"] = "semantic",
        category: str | None = None,
        significance: float = 0.5,
        embedding: ArrayLike | None = None,
        space: str = "default",
        entities: Iterable[str] | None = None,
        scope: _Scope | None = None,
        metadata: _JSON | None = None,
        valid_from: _Time | None = None,
        valid_to: _Time | None = None,
        source: str | None = None,
    ) -> Coroutine[Any, Any, MemoryRecord]:
        """Write a new version of ``key`` valid from ``valid_from`` (default now) to
        ``valid_to`` (default open-ended) and return it. ``value`` is a str or any JSON value
        (its text, or its string leaves, is indexed for keywords); ``embedding`` (a 1-D array)
        goes to the declared vector space ``space``. The new version ends an earlier one whose
        interval it starts in; a back-dated one ends where the next version begins."""
    def remember_many(
        self, items: Iterable[Mapping[str, Any] | tuple[str, Any]]
    ) -> Coroutine[Any, Any, list[MemoryRecord]]:
        """Write many records in one atomic call: dicts with ``key``, ``value`` and any option
        of :meth:`remember`, or ``(key, value)`` tuples. All or none."""
    def recall(
        self,
        key: str,
        *,
        scope: _Scope | None = None,
        as_of: _Time | None = None,
        known_at: _Time | None = None,
    ) -> Coroutine[Any, Any, MemoryRecord | None]:
        """The version of ``key`` valid at ``as_of`` (default now) as the store knew it at
        ``known_at`` (default: everything recorded); None if there is none or it was
        forgotten."""
    def history(
        self, key: str, *, scope: _Scope | None = None
    ) -> Coroutine[Any, Any, list[MemoryRecord]]:
        """Every version of ``key`` (tombstones included) with its times, oldest first."""
    def forget(
        self, key: str, *, at: _Time | None = None, scope: _Scope | None = None
    ) -> Coroutine[Any, Any, MemoryRecord]:
        """Write a tombstone version valid from ``at`` (default now): recall finds nothing
        from then on; history keeps everything. Returns the tombstone."""
    def purge(self, key: str, *, scope: _Scope | None = None) -> Coroutine[Any, Any, int]:
        """Delete every version of ``key`` physically, with its postings and vectors; returns
        how many versions went."""
    def forget_scope(self, scope: _Scope) -> Coroutine[Any, Any, int]:
        """Erase every record, edge, posting and vector of ``scope`` (a user who asks to be
        forgotten); returns how many records and edges went."""
    def space(
        self, name: str, dim: int, metric: Literal["cosine", "dot"] = "cosine"
    ) -> Coroutine[Any, Any, _MemorySpace]:
        """Declare vector space ``name`` (persisted). Declaring it again with the same
        ``dim`` and ``metric`` is fine; with others it is a ValidationError."""
    def spaces(self) -> Coroutine[Any, Any, list[_MemorySpace]]:
        """The declared vector spaces, by name."""
    def relate(
        self,
        src: str,
        relation: str,
        dst: str,
        *,
        valid_from: _Time | None = None,
        valid_to: _Time | None = None,
        confidence: float = 1.0,
        exclusive: bool = False,
        embedding: ArrayLike | None = None,
        space: str = "default",
        metadata: _JSON | None = None,
        scope: _Scope | None = None,
    ) -> Coroutine[Any, Any, MemoryEdge]:
        """Add the edge ``src -relation-> dst``. ``exclusive``: a relation that holds for one
        ``dst`` at a time; every other edge of the same ``src`` and ``relation`` valid at this
        one's ``valid_from`` is invalidated then (kept, with the time it was recorded), and an
        existing one that starts later ends this one where it begins."""
    def edges(
        self,
        entity: str,
        *,
        relation: str | None = None,
        direction: Literal["out", "in", "both"] = "out",
        as_of: _Time | None = None,
        known_at: _Time | None = None,
        scope: _Scope | None = None,
    ) -> Coroutine[Any, Any, list[MemoryEdge]]:
        """The edges of ``entity`` valid at ``as_of`` (default now) as known at ``known_at``
        (default: everything recorded), by id."""
    def search(
        self,
        text: str | None = None,
        embedding: ArrayLike | None = None,
        *,
        space: str = "default",
        scope: _Scope | None = None,
        around: str | None = None,
        hops: int = 1,
        kinds: list[Literal["semantic", "episodic", "procedural"]] | None = None,
        categories: list[str] | None = None,
        as_of: _Time | None = None,
        known_at: _Time | None = None,
        k: int = 10,
        fusion: Literal["rrf", "weighted"] = "rrf",
        weights: list[float] | None = None,
    ) -> Coroutine[Any, Any, list[MemoryHit]]:
        """Hybrid search over the records of ``scope`` (None: the global scope) valid at
        ``as_of`` (default now) as known at ``known_at``: BM25 over ``text``, vector
        similarity to ``embedding`` in ``space`` (int8 scan, exact re-rank), and the records
        linked to the entities within ``hops`` of ``around``; fused by reciprocal rank fusion
        (``fusion="weighted"``: a weighted sum of min-max normalised scores, ``weights`` for
        keyword, vector, graph). Optional filters: ``kinds``, ``categories``. Best ``k``
        first. Runs on an in-process index that the first search loads and the change feed
        keeps current (other processes' writes included)."""
    def neighbors(
        self, entity: str, *, hops: int = 1, as_of: _Time | None = None, scope: _Scope | None = None
    ) -> Coroutine[Any, Any, list[tuple[str, int]]]:
        """The entities within ``hops`` (1 to 3) of ``entity`` over edges valid at ``as_of``,
        either direction, with their distance: nearest first, then by id."""

# ---- end of generated AsyncMemory ----
# ---- cache (src/py/cache.rs) ----------------------------------------------------------

@final
class CacheStats:
    """The counters of a namespace's cache, from :meth:`Cache.stats`, as every process sees
    them (docs/cache.md says how exact each one is)."""

    @property
    def hits(self) -> int:
        """Reads that found a live entry."""
    @property
    def misses(self) -> int:
        """Reads that found none (missing, expired or invalidated)."""
    @property
    def hit_ratio(self) -> float:
        """hits / (hits + misses), 0.0 before any read."""
    @property
    def entries(self) -> int:
        """Entries stored (invalidated ones count until removed; see docs/cache.md)."""
    @property
    def bytes(self) -> int:
        """Bytes of the stored values."""
    @property
    def tags(self) -> dict[str, int]:
        """Entries of each tag's current generation (tags with none left out)."""

@final
class SemanticMatch:
    """What :meth:`Cache.match` found: the entry's key and value and the cosine similarity
    of its prompt embedding to the query's."""

    @property
    def key(self) -> str:
        """The matched entry's key."""
    @property
    def value(self) -> Any:
        """Its cached value."""
    @property
    def similarity(self) -> float:
        """Cosine similarity of the cached prompt's embedding to the query's (1.0: same
        direction)."""

@final
class Cache:
    """``hub.cache``: exact caches that know what to invalidate. Values as in :class:`Kv`
    (bytes, str or any JSON value, back as given), keys any text of 1 to 1,024 bytes (never
    a pattern), an optional time to live and tags per entry. ``invalidate_tag`` is atomic and
    O(1) on every backend (a generation counter per tag, checked at read); ``configure``
    bounds the entries or bytes (least recently used go first). See docs/cache.md.
    """

    def configure(
        self,
        *,
        max_value: int | None = None,
        max_entries: int | None = None,
        max_bytes: int | None = None,
    ) -> dict[str, int]:
        """This handle's limits: ``max_value`` (bytes, default 16 MiB), ``max_entries`` and
        ``max_bytes`` (0: unbounded, the default); returns those in force. Not a store
        operation: it applies to this process's writes (docs/cache.md)."""
    def get(self, key: str, default: Any = None) -> Any:
        """The value cached at ``key``, or ``default`` when there is none (missing, expired
        or invalidated)."""
    def get_many(self, keys: Iterable[str]) -> list[Any]:
        """Values by key, None where there is none."""
    def set(
        self, key: str, value: _KvValue, *, ttl: float | None = None, tags: Iterable[str] = ()
    ) -> None:
        """Cache ``value`` (bytes, str or any JSON value) at ``key`` for ``ttl`` seconds (None:
        until evicted or invalidated), tagged with ``tags``."""
    def set_many(
        self,
        items: Mapping[str, _KvValue] | Iterable[tuple[str, _KvValue]],
        *,
        ttl: float | None = None,
        tags: Iterable[str] = (),
    ) -> None:
        """Cache several entries at once, all or none, each with ``ttl`` and ``tags``."""
    def set_semantic(
        self,
        key: str,
        value: _KvValue,
        *,
        scope: str,
        embedding: ArrayLike,
        ttl: float | None = None,
        tags: Iterable[str] = (),
    ) -> None:
        """Cache ``value`` at ``key`` like :meth:`set`, with the prompt's ``embedding`` (a 1-D
        array of numbers) in ``scope`` (text naming the model and the parameters that change
        the answer), so that :meth:`match` finds it for a similar prompt (docs/cache.md)."""
    def match(
        self, scope: str, embedding: ArrayLike, *, threshold: float = 0.9, k: int = 4
    ) -> SemanticMatch | None:
        """The live entry of ``scope`` whose prompt embedding is the most similar to
        ``embedding`` (cosine) among those at least ``threshold`` similar, or None. Expired,
        invalidated and deleted entries are never returned: the ``k`` best candidates are read
        through the same path as :meth:`get` (docs/cache.md)."""
    def semantic_index(self) -> tuple[int, int]:
        """``(entries, scopes)`` in this handle's semantic index, brought up to date first
        (the first call loads it)."""
    def delete(self, key: str) -> bool:
        """Delete the entry at ``key``; True if there was a live one."""
    def invalidate_tag(self, tag: str) -> int:
        """Invalidate every entry tagged ``tag``, atomically and in O(1); returns how many
        entries had it."""
    def invalidate_prefix(self, prefix: str) -> int:
        """Delete every entry whose key starts with ``prefix`` (page by page, not as one
        atomic step); returns how many went."""
    def stats(self) -> CacheStats:
        """Hits, misses, hit ratio, entries, bytes and entries per tag of this namespace's
        cache, as every process sees them."""
    def sweep(self) -> int:
        """Remove expired and invalidated entries now (reads never return them anyway);
        returns how many."""
    def cached(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        ttl: float | None = None,
        tags: Iterable[str] = (),
        key: Callable[..., str] | None = None,
        lease: float | None = None,
    ) -> Any:
        """A decorator caching a function's results here for ``ttl`` seconds, tagged
        ``tags``, keyed by ``key(*args, **kwargs)`` or a hash of the function's name and
        arguments; concurrent misses compute once (single flight, with a ``lease`` of 30 s in
        the store across processes). See :func:`zerolag.cache.cached`."""
    @property
    def llm(self) -> _LlmCache:
        """Responses of language models cached here (:class:`zerolag.cache.LlmCache`)."""
    def _lookup(
        self, key: str, lease: float | None = None, token: str | None = None, count: bool = True
    ) -> tuple[bool, Any, bool]: ...
    def _fill(
        self,
        key: str,
        value: _KvValue,
        *,
        ttl: float | None = None,
        tags: Iterable[str] | None = None,
        token: str | None = None,
        scope: str | None = None,
        embedding: ArrayLike | None = None,
    ) -> None: ...
    def _release(self, key: str, token: str) -> bool: ...

# ---- generated by scripts/gen_async_stubs.py: AsyncCache ----
@final
class AsyncCache:
    """``hub.cache`` of an :class:`AsyncHub`: the operations of :class:`Cache` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def configure(
        self,
        *,
        max_value: int | None = None,
        max_entries: int | None = None,
        max_bytes: int | None = None,
    ) -> dict[str, int]:
        """This handle's limits: ``max_value`` (bytes, default 16 MiB), ``max_entries`` and
        ``max_bytes`` (0: unbounded, the default); returns those in force. Not a store
        operation: it applies to this process's writes (docs/cache.md)."""
    def get(self, key: str, default: Any = None) -> Coroutine[Any, Any, Any]:
        """The value cached at ``key``, or ``default`` when there is none (missing, expired
        or invalidated)."""
    def get_many(self, keys: Iterable[str]) -> Coroutine[Any, Any, list[Any]]:
        """Values by key, None where there is none."""
    def set(
        self, key: str, value: _KvValue, *, ttl: float | None = None, tags: Iterable[str] = ()
    ) -> Coroutine[Any, Any, None]:
        """Cache ``value`` (bytes, str or any JSON value) at ``key`` for ``ttl`` seconds (None:
        until evicted or invalidated), tagged with ``tags``."""
    def set_many(
        self,
        items: Mapping[str, _KvValue] | Iterable[tuple[str, _KvValue]],
        *,
        ttl: float | None = None,
        tags: Iterable[str] = (),
    ) -> Coroutine[Any, Any, None]:
        """Cache several entries at once, all or none, each with ``ttl`` and ``tags``."""
    def set_semantic(
        self,
        key: str,
        value: _KvValue,
        *,
        scope: str,
        embedding: ArrayLike,
        ttl: float | None = None,
        tags: Iterable[str] = (),
    ) -> Coroutine[Any, Any, None]:
        """Cache ``value`` at ``key`` like :meth:`set`, with the prompt's ``embedding`` (a 1-D
        array of numbers) in ``scope`` (text naming the model and the parameters that change
        the answer), so that :meth:`match` finds it for a similar prompt (docs/cache.md)."""
    def match(
        self, scope: str, embedding: ArrayLike, *, threshold: float = 0.9, k: int = 4
    ) -> Coroutine[Any, Any, SemanticMatch | None]:
        """The live entry of ``scope`` whose prompt embedding is the most similar to
        ``embedding`` (cosine) among those at least ``threshold`` similar, or None. Expired,
        invalidated and deleted entries are never returned: the ``k`` best candidates are read
        through the same path as :meth:`get` (docs/cache.md)."""
    def semantic_index(self) -> Coroutine[Any, Any, tuple[int, int]]:
        """``(entries, scopes)`` in this handle's semantic index, brought up to date first
        (the first call loads it)."""
    def delete(self, key: str) -> Coroutine[Any, Any, bool]:
        """Delete the entry at ``key``; True if there was a live one."""
    def invalidate_tag(self, tag: str) -> Coroutine[Any, Any, int]:
        """Invalidate every entry tagged ``tag``, atomically and in O(1); returns how many
        entries had it."""
    def invalidate_prefix(self, prefix: str) -> Coroutine[Any, Any, int]:
        """Delete every entry whose key starts with ``prefix`` (page by page, not as one
        atomic step); returns how many went."""
    def stats(self) -> Coroutine[Any, Any, CacheStats]:
        """Hits, misses, hit ratio, entries, bytes and entries per tag of this namespace's
        cache, as every process sees them."""
    def sweep(self) -> Coroutine[Any, Any, int]:
        """Remove expired and invalidated entries now (reads never return them anyway);
        returns how many."""
    def cached(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        ttl: float | None = None,
        tags: Iterable[str] = (),
        key: Callable[..., str] | None = None,
        lease: float | None = None,
    ) -> Any:
        """A decorator caching a function's results here for ``ttl`` seconds, tagged
        ``tags``, keyed by ``key(*args, **kwargs)`` or a hash of the function's name and
        arguments; concurrent misses compute once (single flight, with a ``lease`` of 30 s in
        the store across processes). See :func:`zerolag.cache.cached`."""
    @property
    def llm(self) -> _LlmCache:
        """Responses of language models cached here (:class:`zerolag.cache.LlmCache`)."""
    def _lookup(
        self, key: str, lease: float | None = None, token: str | None = None, count: bool = True
    ) -> Coroutine[Any, Any, tuple[bool, Any, bool]]: ...
    def _fill(
        self,
        key: str,
        value: _KvValue,
        *,
        ttl: float | None = None,
        tags: Iterable[str] | None = None,
        token: str | None = None,
        scope: str | None = None,
        embedding: ArrayLike | None = None,
    ) -> Coroutine[Any, Any, None]: ...
    def _release(self, key: str, token: str) -> Coroutine[Any, Any, bool]: ...

# ---- end of generated AsyncCache ----

# ---- anonymize (src/py/anonymize.rs) ----------------------------------------------------

@final
class Finding:
    """One redaction found by :meth:`Anonymizer.scan` (``start``/``end`` index the str)."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def category(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def placeholder(self) -> str: ...

@final
class Anonymizer:
    """Finds secrets and personal data and replaces each with a stable, keyed placeholder
    (``[REDACTED:<rule>:<12 hex>]``: the same secret gives the same placeholder under the same
    key; the placeholder cannot be turned back into the secret without the key).

    ``disable``: categories to switch off (see :meth:`categories`); ``rules``: extra rules as
    ``{name: regex}`` (a named group ``secret`` limits the redaction to it); ``key``: the HMAC
    key (default: the environment variable ``ZEROLAG_ANONYMIZE_KEY`` if set, else a fixed public
    library key; set one for low-entropy data such as e-mail addresses, the same in every
    process whose placeholders must match). Pattern memory uses the same default.
    """

    def __new__(
        cls,
        *,
        disable: Sequence[str] = ...,
        rules: Mapping[str, str] | None = None,
        key: bytes | None = None,
    ) -> Anonymizer: ...
    def anonymize(self, text: str) -> str:
        """``text`` with every secret replaced by its placeholder."""
    def anonymize_json(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string and key anonymised; a string under a
        password- or key-like key (``"password": ...``) counts as a secret."""
    def scan(self, text: str) -> list[Finding]:
        """What :meth:`anonymize` would replace, in order."""
    @staticmethod
    def categories() -> list[str]:
        """Categories of the built-in rules."""

def anonymize(text: str) -> str:
    """``text`` with secrets replaced, using the built-in rules and the default key (see
    :class:`Anonymizer` for options)."""

# ---- memory (src/py/memory.rs) ---------------------------------------------------------

@final
class VectorIndex:
    """An in-process vector index: a fixed dimension and metric, rows addressed by integer id.

    ``metric``: ``"cosine"`` (rows and queries are normalised; scores in [-1, 1]) or ``"dot"``.
    ``quantized``: also keep an int8 copy of each row; searches scan it and re-rank the best
    candidates exactly (scores are exact; recall, not precision, is what is traded). Wrong
    dimensions, NaN or infinity (and an all-zero vector under cosine) raise
    :class:`zerolag.ValidationError`.
    """

    def __new__(
        cls, dim: int, metric: Literal["cosine", "dot"] = "cosine", quantized: bool = False
    ) -> VectorIndex: ...
    @property
    def dim(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def quantized(self) -> bool: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: int, /) -> bool: ...
    def add(self, ids: ArrayLike, matrix: ArrayLike) -> None:
        """Adds or replaces rows: ``ids`` (n non-negative integers) and an n x ``dim`` matrix,
        all or none. A C-contiguous float32 matrix is read in place and copied once into the
        index; anything else is converted by numpy first."""
    def remove(self, ids: ArrayLike) -> int:
        """Removes rows; returns how many were there."""
    def search(
        self, vector: ArrayLike, k: int = 10, *, exact: bool = False
    ) -> tuple[NDArray[np.uint64], NDArray[np.float32]]:
        """The best ``k`` rows for ``vector``: ``(ids, scores)``, best first (equal scores:
        lower id first). A quantised index scans int8 and re-ranks unless ``exact``."""
    def memory_bytes(self) -> int:
        """Bytes the index holds: rows, ids, the int8 copy and the id map."""

def hash_embed(
    texts: list[str], dim: int = 384, ngram_min: int = 3, ngram_max: int = 5
) -> NDArray[np.float32]:
    """The offline hashing embedder's vectors of ``texts``: a ``len(texts) x dim`` float32
    matrix of unit rows (see :class:`zerolag.embed.HashingEmbedder`). ``ngram_min`` and
    ``ngram_max`` bound the character n-grams (both 0: words only)."""

# ---- bus (src/py/bus.rs) ----------------------------------------------------------

_Priority = Literal["critical", "high", "medium", "low"]

class _BusSettings(TypedDict):
    """Limits and retention of one bus handle (see :meth:`Bus.configure`)."""

    max_len: int
    max_age: float
    max_payload: int

@final
class Message:
    """A message on the bus. Immutable."""

    @property
    def id(self) -> str:
        """``"<ms>-<seq>"``: unique in the namespace, ordered by acceptance."""
    @property
    def source(self) -> str:
        """The sending agent."""
    @property
    def target(self) -> str | None:
        """The addressee; None for a broadcast or a message routed by kind."""
    @property
    def time(self) -> float:
        """Unix seconds (millisecond precision) when the store accepted it."""
    @property
    def priority(self) -> _Priority: ...
    @property
    def kind(self) -> str | None:
        """What the message is about (normalised like a task keyword)."""
    @property
    def payload(self) -> _JSON:
        """The JSON value shared (a fresh copy on each access)."""
    @property
    def broadcast(self) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Delivery:
    """A message handed to one consumer of a group by :meth:`Bus.consume`."""

    @property
    def message(self) -> Message: ...
    @property
    def id(self) -> str:
        """The message id (what :meth:`Bus.ack` takes)."""
    @property
    def payload(self) -> _JSON: ...
    @property
    def agent(self) -> str:
        """Whose inbox it came from."""
    @property
    def group(self) -> str: ...
    @property
    def consumer(self) -> str:
        """The consumer holding it now (the one that must ack it)."""
    @property
    def deliveries(self) -> int:
        """How many times it has been handed out: 1 first, more after idle claims."""

@final
class DeadLetter:
    """A message handed out ``max_deliveries`` times without an ack."""

    @property
    def message(self) -> Message: ...
    @property
    def id(self) -> str: ...
    @property
    def agent(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def consumer(self) -> str:
        """The last consumer that held it."""
    @property
    def deliveries(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def time(self) -> float:
        """Unix seconds when it became dead."""

@final
class BusStats:
    """What :meth:`Bus.stats` reports."""

    @property
    def total(self) -> int:
        """Messages shared since the last clear (a fan-out counts once)."""
    @property
    def pending(self) -> int:
        """Unacked deliveries over every agent."""
    @property
    def acknowledged(self) -> int:
        """Acks since the last clear."""
    @property
    def dead(self) -> int:
        """Dead letters held."""
    @property
    def per_agent(self) -> dict[str, int]:
        """Unacked deliveries per registered agent."""

@final
class Bus:
    """``hub.bus`` of a sync hub: agent-to-agent messages.

    Agents register (optionally for kinds) before messages can be addressed to them. Each
    has an inbox, read most urgent first (critical > high > medium > low), oldest first
    within a priority. :meth:`pending` peeks and :meth:`ack` removes; :meth:`consume` hands
    messages to the consumers of the agent's group (one group per agent), re-handing ones a
    dead consumer held after ``claim_idle_ms`` and dead-lettering ones handed out
    ``max_deliveries`` times.
    """

    def configure(
        self,
        *,
        max_len: int | None = None,
        max_age: float | None = None,
        max_payload: int | None = None,
    ) -> _BusSettings:
        """Retention of the namespace's bus (entries and seconds every stream keeps; defaults
        100,000 and 86,400), stored so every process and handle on the namespace follows it,
        and this handle's payload limit (bytes of JSON; default 1 MiB). Returns the settings
        in force; with no arguments it only reads them."""
    def register(self, agent: str, *, kinds: Iterable[str] | None = None) -> bool:
        """Register ``agent`` for ``kinds`` (replacing earlier kinds). True when new; a new
        agent receives the broadcasts still retained."""
    def agents(self) -> dict[str, list[str]]:
        """Registered agents and their kinds."""
    def share(
        self,
        source: str,
        target: str | None,
        payload: _JSON,
        *,
        priority: _Priority = "medium",
        kind: str | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Send ``payload`` (any JSON value) to ``target``, or with ``target=None`` to every
        agent registered for ``kind`` (NotFoundError if none is). A retry with the same
        ``idempotency_key`` returns the first message and delivers nothing again."""
    def share_many(self, messages: Iterable[Mapping[str, Any]]) -> list[Message]:
        """Shares several messages in one store operation (one script call on Redis, one
        transaction embedded), all or nothing: each item holds ``share``'s arguments by name
        (``source``, ``target``, ``payload``, ``priority``, ``kind``, ``idempotency_key``), or
        ``"broadcast": True`` instead of a target. An unknown target or kind anywhere fails
        the whole batch before anything is written."""
    def broadcast(
        self,
        source: str,
        payload: _JSON,
        *,
        priority: _Priority = "medium",
        kind: str | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Send to every registered agent but ``source``, and to agents registering later
        while retention keeps the message."""
    def pending(self, agent: str, count: int = 10) -> list[Message]:
        """Up to ``count`` unacked messages of ``agent``, most urgent first (a peek)."""
    def ack(
        self,
        agent: str,
        message_id: str | Message | Delivery,
        *,
        group: str | None = None,
        consumer: str | None = None,
    ) -> bool:
        """Acknowledge: the message leaves the inbox. False if it was acknowledged before;
        NotFoundError if ``agent`` never had it; with ``group``/``consumer``, ConflictError
        unless that consumer holds it."""
    def ack_many(
        self,
        agent: str,
        message_ids: Iterable[str | Message | Delivery],
        *,
        group: str | None = None,
        consumer: str | None = None,
    ) -> int:
        """Acknowledge several at once (all checked first); returns how many were new."""
    def is_acked(self, message_id: str | Message | Delivery) -> bool:
        """True once acknowledged (by any recipient), while the ack log retains it."""
    def history(self, agent_a: str, agent_b: str, limit: int = 50) -> list[Message]:
        """The last ``limit`` messages between two agents (either way), oldest first."""
    def stats(self) -> BusStats:
        """Counts over the namespace's bus: messages shared, pending, acknowledged, dead."""
    def cleanup(self, older_than: float) -> int:
        """Drop entries older than ``older_than`` seconds (acked or not); returns how many."""
    def clear(self) -> int:
        """Delete everything the bus holds in this namespace."""
    def consume(
        self,
        agent: str,
        *,
        group: str,
        consumer: str,
        count: int = 10,
        block_ms: int | None = None,
        claim_idle_ms: int = 30000,
        max_deliveries: int = 5,
    ) -> list[Delivery]:
        """Hand up to ``count`` messages of ``agent`` to ``consumer`` of ``group``: deliveries
        idle over ``claim_idle_ms`` first (claimed from their holder), then new ones. Waits up
        to ``block_ms`` when there is nothing (None or 0: returns at once)."""
    def dead_letters(self, agent: str | None = None, count: int = 100) -> list[DeadLetter]:
        """Dead letters, oldest first."""
    def requeue(
        self, message_ids: Iterable[str | DeadLetter] | None = None, *, agent: str | None = None
    ) -> int:
        """Put dead letters back into their inboxes as new messages (new id, deliveries
        start again); None: all (of ``agent``). Returns how many."""

# ---- generated by scripts/gen_async_stubs.py: AsyncBus ----
@final
class AsyncBus:
    """``hub.bus`` of an :class:`AsyncHub`: the operations of :class:`Bus` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def configure(
        self,
        *,
        max_len: int | None = None,
        max_age: float | None = None,
        max_payload: int | None = None,
    ) -> _BusSettings:
        """Retention of the namespace's bus (entries and seconds every stream keeps; defaults
        100,000 and 86,400), stored so every process and handle on the namespace follows it,
        and this handle's payload limit (bytes of JSON; default 1 MiB). Returns the settings
        in force; with no arguments it only reads them."""
    def register(
        self, agent: str, *, kinds: Iterable[str] | None = None
    ) -> Coroutine[Any, Any, bool]:
        """Register ``agent`` for ``kinds`` (replacing earlier kinds). True when new; a new
        agent receives the broadcasts still retained."""
    def agents(self) -> Coroutine[Any, Any, dict[str, list[str]]]:
        """Registered agents and their kinds."""
    def share(
        self,
        source: str,
        target: str | None,
        payload: _JSON,
        *,
        priority: _Priority = "medium",
        kind: str | None = None,
        idempotency_key: str | None = None,
    ) -> Coroutine[Any, Any, Message]:
        """Send ``payload`` (any JSON value) to ``target``, or with ``target=None`` to every
        agent registered for ``kind`` (NotFoundError if none is). A retry with the same
        ``idempotency_key`` returns the first message and delivers nothing again."""
    def share_many(
        self, messages: Iterable[Mapping[str, Any]]
    ) -> Coroutine[Any, Any, list[Message]]:
        """Shares several messages in one store operation (one script call on Redis, one
        transaction embedded), all or nothing: each item holds ``share``'s arguments by name
        (``source``, ``target``, ``payload``, ``priority``, ``kind``, ``idempotency_key``), or
        ``"broadcast": True`` instead of a target. An unknown target or kind anywhere fails
        the whole batch before anything is written."""
    def broadcast(
        self,
        source: str,
        payload: _JSON,
        *,
        priority: _Priority = "medium",
        kind: str | None = None,
        idempotency_key: str | None = None,
    ) -> Coroutine[Any, Any, Message]:
        """Send to every registered agent but ``source``, and to agents registering later
        while retention keeps the message."""
    def pending(self, agent: str, count: int = 10) -> Coroutine[Any, Any, list[Message]]:
        """Up to ``count`` unacked messages of ``agent``, most urgent first (a peek)."""
    def ack(
        self,
        agent: str,
        message_id: str | Message | Delivery,
        *,
        group: str | None = None,
        consumer: str | None = None,
    ) -> Coroutine[Any, Any, bool]:
        """Acknowledge: the message leaves the inbox. False if it was acknowledged before;
        NotFoundError if ``agent`` never had it; with ``group``/``consumer``, ConflictError
        unless that consumer holds it."""
    def ack_many(
        self,
        agent: str,
        message_ids: Iterable[str | Message | Delivery],
        *,
        group: str | None = None,
        consumer: str | None = None,
    ) -> Coroutine[Any, Any, int]:
        """Acknowledge several at once (all checked first); returns how many were new."""
    def is_acked(self, message_id: str | Message | Delivery) -> Coroutine[Any, Any, bool]:
        """True once acknowledged (by any recipient), while the ack log retains it."""
    def history(
        self, agent_a: str, agent_b: str, limit: int = 50
    ) -> Coroutine[Any, Any, list[Message]]:
        """The last ``limit`` messages between two agents (either way), oldest first."""
    def stats(self) -> Coroutine[Any, Any, BusStats]:
        """Counts over the namespace's bus: messages shared, pending, acknowledged, dead."""
    def cleanup(self, older_than: float) -> Coroutine[Any, Any, int]:
        """Drop entries older than ``older_than`` seconds (acked or not); returns how many."""
    def clear(self) -> Coroutine[Any, Any, int]:
        """Delete everything the bus holds in this namespace."""
    def consume(
        self,
        agent: str,
        *,
        group: str,
        consumer: str,
        count: int = 10,
        block_ms: int | None = None,
        claim_idle_ms: int = 30000,
        max_deliveries: int = 5,
    ) -> Coroutine[Any, Any, list[Delivery]]:
        """Hand up to ``count`` messages of ``agent`` to ``consumer`` of ``group``: deliveries
        idle over ``claim_idle_ms`` first (claimed from their holder), then new ones. Waits up
        to ``block_ms`` when there is nothing (None or 0: returns at once)."""
    def dead_letters(
        self, agent: str | None = None, count: int = 100
    ) -> Coroutine[Any, Any, list[DeadLetter]]:
        """Dead letters, oldest first."""
    def requeue(
        self, message_ids: Iterable[str | DeadLetter] | None = None, *, agent: str | None = None
    ) -> Coroutine[Any, Any, int]:
        """Put dead letters back into their inboxes as new messages (new id, deliveries
        start again); None: all (of ``agent``). Returns how many."""

# ---- end of generated AsyncBus ----

# ---- docs (src/py/docs.rs) -----------------------------------------------------------

@final
class Document:
    """A YAML or JSON document as stored: its raw text, parsed value and bookkeeping."""

    @property
    def path(self) -> str:
        """Path under the hub's root, ``/``-separated (``contexts/app/brief.yaml``)."""
    @property
    def value(self) -> _JSON:
        """The parsed value."""
    @property
    def text(self) -> str:
        """The raw text, as the file holds it."""
    @property
    def format(self) -> Literal["yaml", "json"]: ...
    @property
    def version(self) -> int:
        """Counts changes from 1; writing the same text again does not count."""
    @property
    def hash(self) -> str:
        """SHA-256 of the text, hex."""
    @property
    def origin(self) -> Literal["file", "store"]:
        """Where this version came from: a file read by the sync, or the API."""
    @property
    def created(self) -> float:
        """Seconds since the epoch."""
    @property
    def updated(self) -> float: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Docs:
    """``hub.docs``: YAML and JSON documents in the store, keyed by their file path.

    Paths are relative and ``/``-separated, under one of the roots (default ``contexts`` and
    ``workflows``), ending in ``.yaml``, ``.yml`` or ``.json``; absolute paths, ``..``, ``.``
    and empty segments are refused with ValidationError. API writes queue the file for
    write-back by the file sync (see :meth:`pending_writeback`).
    """

    def configure(
        self, *, roots: Iterable[str] | None = None, max_bytes: int | None = None
    ) -> tuple[builtins.list[str], int]:
        """Roots and the size limit of this hub's documents (default 1 MiB); returns both."""
    def get(self, path: str) -> Document:
        """The document; NotFoundError if there is none."""
    def put(self, path: str, value: _JSON, *, expected_version: int | None = None) -> Document:
        """Stores ``value``, written as block YAML or indented JSON by the path's extension.
        ``expected_version`` (0: must not exist) makes it a compare-and-set: ConflictError
        if the stored version differs. The same text as stored changes nothing."""
    def put_text(
        self, path: str, text: str | bytes, *, expected_version: int | None = None
    ) -> Document:
        """Stores raw ``text`` as it is (comments and layout kept) after parsing it:
        ValidationError for invalid UTF-8, invalid YAML or JSON, more than one YAML document,
        duplicate keys (YAML and JSON), integers outside the 64-bit range (never read as a
        float), unsupported tags, nesting deeper than 64, more than 200,000 nodes (aliases
        count what they repeat) or a text over the size limit."""
    def merge(self, path: str, updates: dict[str, Any]) -> Document:
        """Deep-merges ``updates`` into the document's mapping (created if missing):
        mappings merge, anything else replaces, ``None`` deletes a key. Atomic against other
        writers (retried on a concurrent change)."""
    def delete(self, path: str) -> bool:
        """Deletes the document (and queues the file's deletion); False if there was none."""
    def list(self, prefix: str = "") -> builtins.list[str]:
        """Paths starting with ``prefix``, sorted (at most 100,000)."""
    def pending_writeback(self, limit: int = 1000) -> builtins.list[str]:
        """Paths changed through the API and not yet written back to their files, oldest
        first (a path with no document is a file to delete)."""

# ---- generated by scripts/gen_async_stubs.py: AsyncDocs ----
@final
class AsyncDocs:
    """``hub.docs`` of an :class:`AsyncHub`: the operations of :class:`Docs` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def configure(
        self, *, roots: Iterable[str] | None = None, max_bytes: int | None = None
    ) -> tuple[builtins.list[str], int]:
        """Roots and the size limit of this hub's documents (default 1 MiB); returns both."""
    def get(self, path: str) -> Coroutine[Any, Any, Document]:
        """The document; NotFoundError if there is none."""
    def put(
        self, path: str, value: _JSON, *, expected_version: int | None = None
    ) -> Coroutine[Any, Any, Document]:
        """Stores ``value``, written as block YAML or indented JSON by the path's extension.
        ``expected_version`` (0: must not exist) makes it a compare-and-set: ConflictError
        if the stored version differs. The same text as stored changes nothing."""
    def put_text(
        self, path: str, text: str | bytes, *, expected_version: int | None = None
    ) -> Coroutine[Any, Any, Document]:
        """Stores raw ``text`` as it is (comments and layout kept) after parsing it:
        ValidationError for invalid UTF-8, invalid YAML or JSON, more than one YAML document,
        duplicate keys (YAML and JSON), integers outside the 64-bit range (never read as a
        float), unsupported tags, nesting deeper than 64, more than 200,000 nodes (aliases
        count what they repeat) or a text over the size limit."""
    def merge(self, path: str, updates: dict[str, Any]) -> Coroutine[Any, Any, Document]:
        """Deep-merges ``updates`` into the document's mapping (created if missing):
        mappings merge, anything else replaces, ``None`` deletes a key. Atomic against other
        writers (retried on a concurrent change)."""
    def delete(self, path: str) -> Coroutine[Any, Any, bool]:
        """Deletes the document (and queues the file's deletion); False if there was none."""
    def list(self, prefix: str = "") -> Coroutine[Any, Any, builtins.list[str]]:
        """Paths starting with ``prefix``, sorted (at most 100,000)."""
    def pending_writeback(self, limit: int = 1000) -> Coroutine[Any, Any, builtins.list[str]]:
        """Paths changed through the API and not yet written back to their files, oldest
        first (a path with no document is a file to delete)."""

# ---- end of generated AsyncDocs ----

# ---- file sync (src/py/filesync.rs) ------------------------------------------------

class _SyncStatus(TypedDict, total=False):
    running: bool
    root: str
    imported: int
    written: int
    deleted: int
    conflicts: int
    merged: int
    errors: int
    scans: int
    last_error: str | None
    parked: list[str]

@final
class Sync:
    """``hub.sync``: the two-way mirror between :attr:`Hub.docs` and the YAML/JSON files under
    the hub's root (``contexts/``, ``workflows/``).

    A native watcher with a short debounce brings file edits into the store (``file:changed``
    events); API writes are written back to their files atomically (``file:synced``); a file
    whose text the store already holds is not a change, so nothing echoes. A store-side
    ``merge`` of a few fields rewrites only those fields in the file (comments, key order and
    layout of the rest survive; ``file:synced`` has ``whole: True`` when the file had to be
    rewritten whole). When both sides changed since the last sync, the two versions are merged
    against the last synced one, field by field (``file:merged``); fields both changed
    differently follow ``conflicts`` (``file:conflict`` lists them). Broken or hostile files
    are left alone (``file:error``) and the store keeps the last good version. One engine per
    root.
    The same object serves sync and async hubs (its calls do not wait on the store).
    """

    def start(
        self,
        *,
        debounce: float = 0.05,
        rescan: float = 30.0,
        conflicts: Literal["keep-both", "store", "file"] = "keep-both",
        writeback_poll: float = 0.5,
    ) -> _SyncStatus:
        """Takes the root's lock (ConflictError if another engine holds it), reconciles files
        and store (changes made while nothing ran, either side), then runs in the background.
        ``debounce``: quiet seconds after a file event; ``rescan``: full rescan interval.
        ``conflicts``: what a field both sides changed differently becomes: ``"keep-both"``
        (the store's value is written and the file's version saved beside it as
        ``<name>.conflict-<ms>.<ext>``), ``"store"`` or ``"file"`` (that side's value; the
        event carries the other's). ``writeback_poll``: longest the write-back worker sleeps
        on an empty queue; store-side writes of any process wake it at once, so this is only
        the safety net."""
    def stop(self) -> bool:
        """Stops the engine and releases the lock; False if none was running."""
    def status(self) -> _SyncStatus:
        """running, root, imported, written, deleted, conflicts, errors, scans, last_error, and
        parked: paths whose write-back failed and waits for its retry (the wait doubles from
        0.1 s to 60 s; one ``file:error`` with ``retry: true`` announces each)."""
    @property
    def running(self) -> bool: ...

# ---- events (src/py/events.rs) ----------------------------------------------------------

@final
class Event:
    """One event of a namespace's log."""

    @property
    def id(self) -> str:
        """Position in the log (``"<ms>-<seq>"``); pass it as ``after`` to resume after it."""
    @property
    def channel(self) -> str: ...
    @property
    def data(self) -> Any:
        """The JSON payload as published."""
    @property
    def time(self) -> float:
        """When it was published, in seconds since the epoch."""
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Subscription:
    """Events of some channels as they come, from :meth:`Events.subscribe`: iterate it
    (blocks; Ctrl-C interrupts) or call :meth:`get` with a timeout."""

    def __iter__(self) -> Subscription: ...
    def __next__(self) -> Event: ...
    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` seconds (None: wait as long as it takes)."""
    @property
    def last_id(self) -> str | None:
        """Id of the last event handed out (pass it as ``after`` to resume), or None."""
    @property
    def patterns(self) -> list[str]: ...
    def close(self) -> None:
        """Stops the iteration."""
    def __enter__(self) -> Subscription: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class AsyncSubscription:
    """Events of some channels as they come, from :meth:`AsyncEvents.subscribe`:
    ``async for ev in sub`` or ``await sub.get(timeout)``. Without ``after`` it starts at the
    end of the log when first used (``async with`` or the first ``get``/``__anext__``)."""

    def __aiter__(self) -> AsyncSubscription: ...
    def __anext__(self) -> Coroutine[Any, Any, Event]: ...
    def get(self, timeout: float | None = None) -> Coroutine[Any, Any, Event | None]:
        """The next event, or None after ``timeout`` seconds (None: wait as long as it takes)."""
    @property
    def last_id(self) -> str | None:
        """Id of the last event handed out (pass it as ``after`` to resume), or None."""
    @property
    def patterns(self) -> list[str]:
        """The channels and patterns."""
    def aclose(self) -> Coroutine[Any, Any, None]:
        """Stops the iteration."""
    def __aenter__(self) -> Coroutine[Any, Any, AsyncSubscription]: ...
    def __aexit__(self, *args: object) -> Coroutine[Any, Any, bool]: ...

@final
class Events:
    """``hub.events``: named channels over one bounded, durable log per namespace, pushed live.

    Channel names are ids (letters, digits, ``_ - . : / @ + =``), e.g. ``file:changed``,
    ``task:created``, ``loop:s1``; patterns may add ``*`` and ``?`` (``task:*``).
    """

    def publish(self, channel: str, data: Any) -> Event:
        """Append an event (any JSON value up to 1 MiB) and wake the subscribers."""
    def read(self, *patterns: str, after: str | None = None, limit: int = 100) -> list[Event]:
        """Retained events on channels matching ``patterns`` (all if none) after the id
        ``after`` (None or ``"0"``: from the oldest retained), oldest first, without waiting.
        With partitions, "after the id" holds in every partition, merged in id order."""
    def last_id(self) -> str:
        """Id of the newest event (``"0-0"`` or ``"0-<n>"`` when the log is empty)."""
    def subscribe(self, *patterns: str, after: str | None = None) -> Subscription:
        """Events on channels matching ``patterns`` (all if none) after ``after`` (None: from
        now; ``"0"``: from the oldest retained), as a blocking iterator."""
    def set_retention(self, *, max_len: int = 10000, max_age: float | None = None) -> None:
        """Keep the newest ``max_len`` events and (if given) only those younger than
        ``max_age`` seconds; applied from the next publish on. With partitions on Redis,
        ``max_len`` bounds each partition (docs/scaling.md)."""
    def retention(self) -> dict[str, float | None]:
        """``{"max_len": ..., "max_age": ...}`` in force."""
    def count(self) -> int:
        """Events the log holds now."""
    def _poll(
        self, patterns: list[str], after: str | None, limit: int, block: float
    ) -> tuple[list[Event], str]: ...
    def _async_twin(self) -> AsyncEvents:
        """The async twin on the same hub (used by ``DualLoop.aevents``)."""

# ---- generated by scripts/gen_async_stubs.py: AsyncEvents ----
@final
class AsyncEvents:
    """``hub.events`` of an :class:`AsyncHub`: the operations of :class:`Events` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def publish(self, channel: str, data: Any) -> Coroutine[Any, Any, Event]:
        """Append an event (any JSON value up to 1 MiB) and wake the subscribers."""
    def read(
        self, *patterns: str, after: str | None = None, limit: int = 100
    ) -> Coroutine[Any, Any, list[Event]]:
        """Retained events on channels matching ``patterns`` (all if none) after the id
        ``after`` (None or ``"0"``: from the oldest retained), oldest first, without waiting.
        With partitions, "after the id" holds in every partition, merged in id order."""
    def last_id(self) -> Coroutine[Any, Any, str]:
        """Id of the newest event (``"0-0"`` or ``"0-<n>"`` when the log is empty)."""
    def subscribe(self, *patterns: str, after: str | None = None) -> AsyncSubscription:
        """Events on channels matching ``patterns`` (all if none) after ``after`` (None: from
        the end of the log when first used; ``"0"``: from the oldest retained), as an
        async iterator (``async for ev in hub.events.subscribe("task:*")``)."""
    def set_retention(
        self, *, max_len: int = 10000, max_age: float | None = None
    ) -> Coroutine[Any, Any, None]:
        """Keep the newest ``max_len`` events and (if given) only those younger than
        ``max_age`` seconds; applied from the next publish on. With partitions on Redis,
        ``max_len`` bounds each partition (docs/scaling.md)."""
    def retention(self) -> Coroutine[Any, Any, dict[str, float | None]]:
        """``{"max_len": ..., "max_age": ...}`` in force."""
    def count(self) -> Coroutine[Any, Any, int]:
        """Events the log holds now."""
    def _poll(
        self, patterns: list[str], after: str | None, limit: int, block: float
    ) -> Coroutine[Any, Any, tuple[list[Event], str]]: ...

# ---- end of generated AsyncEvents ----

# ---- jobs (src/py/jobs.rs) ----------------------------------------------------------

_Seconds = float | _timedelta
_Backoff = Literal["exponential", "fixed"] | float | _timedelta | tuple[str, float]
_JobStatus = Literal["pending", "running", "succeeded", "failed", "dead", "cancelled"]
_FinishAck = Literal["ok", "stale", "missing"]
_Queue = Literal["ready", "delayed", "running", "finished"]
_JobState = Literal["ready", "delayed", "running", "succeeded", "dead", "cancelled"]

class _JobCount(TypedDict):
    kind: str
    state: _JobState
    count: int

class _Metrics(TypedDict):
    version: str
    backend: str
    namespace: str
    at: float
    operations: list[dict[str, Any]]
    latency: list[dict[str, Any]]
    store: dict[str, float]
    jobs: dict[str, Any]
    bus: dict[str, Any]
    events: dict[str, Any]
    cache: dict[str, Any]
    sync: dict[str, Any]

class _WorkerInfo(TypedDict):
    """One worker of :meth:`Jobs.workers` (times are Unix seconds)."""

    id: str
    host: str
    pid: int
    kinds: list[str]
    interval: float
    started: float
    last_beat: float
    done: int
    failed: int
    lost: bool

@final
class Job:
    """A job as stored (a snapshot; :meth:`Jobs.get` reads it again).

    ``status``: ``pending`` (queued, or waiting for ``run_at``), ``running``, ``failed`` (an
    attempt failed; the retry waits for its backoff), ``succeeded``, ``dead`` (out of attempts;
    ``error`` holds the last error) or ``cancelled``. Times are Unix seconds.
    """

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> _JSON: ...
    @property
    def priority(self) -> int:
        """Higher runs first."""
    @property
    def status(self) -> _JobStatus: ...
    @property
    def attempts(self) -> int:
        """Attempts started so far."""
    @property
    def max_attempts(self) -> int: ...
    @property
    def backoff(self) -> tuple[Literal["exponential", "fixed"], float]:
        """``(kind, base seconds)``."""
    @property
    def timeout(self) -> float | None:
        """Longest one attempt may run, seconds (None: no limit)."""
    @property
    def run_at(self) -> float:
        """Earliest start of the next attempt."""
    @property
    def created_at(self) -> float: ...
    @property
    def started_at(self) -> float | None:
        """Start of the latest attempt."""
    @property
    def finished_at(self) -> float | None:
        """When it succeeded, died or was cancelled."""
    @property
    def result(self) -> _JSON:
        """The handler's return value (None until it succeeded)."""
    @property
    def error(self) -> str | None:
        """The latest failure's text."""
    @property
    def progress(self) -> _JSON:
        """The latest progress a handler reported (None if none)."""
    @property
    def idempotency_key(self) -> str | None: ...
    @property
    def worker(self) -> str | None:
        """The worker running (or that last ran) it."""
    @property
    def headers(self) -> dict[str, str]:
        """Metadata it was enqueued with (a trace context, a correlation id)."""

@final
class JobClaim:
    """A job claimed by a worker: what the handler needs and the token proving the claim."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> _JSON: ...
    @property
    def attempt(self) -> int:
        """This attempt's number, from 1."""
    @property
    def max_attempts(self) -> int: ...
    @property
    def priority(self) -> int: ...
    @property
    def timeout(self) -> float | None: ...
    @property
    def token(self) -> str:
        """Stale once the job was reclaimed, cancelled or finished."""
    @property
    def started_at(self) -> float: ...
    @property
    def headers(self) -> dict[str, str]:
        """The job's headers (metadata such as a trace context)."""

@final
class JobPage:
    """One page of :meth:`Jobs.list`: iterate it, index it or read ``jobs``."""

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter, one row per job."""

    @property
    def jobs(self) -> list[Job]: ...
    @property
    def next_cursor(self) -> str | None:
        """Pass as ``cursor=`` for the next page; ``None`` on the last page."""
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Job]: ...
    def __getitem__(self, key: int, /) -> Job: ...

@final
class Jobs:
    """``hub.jobs`` of a sync hub: a durable priority job queue.

    Higher ``priority`` first, FIFO within a priority (in the order jobs became ready);
    delayed jobs never before their time. A claimed job stays its worker's for ``visibility``
    seconds, extended by heartbeats; if the worker dies, the next claim after that moves the
    job back (a failed attempt, retried after its backoff) or to ``dead``.
    """

    def enqueue(
        self,
        kind: str,
        payload: _JSON = None,
        *,
        priority: int = 0,
        run_at: _datetime | float | None = None,
        delay: _Seconds | None = None,
        max_attempts: int = 3,
        backoff: _Backoff | None = None,
        timeout: _Seconds | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> Job:
        """Enqueues a job of ``kind`` (an id: letters, digits, ``_ - . : / @ + =``) with a
        JSON ``payload`` (at most 1 MiB as JSON).

        ``priority``: -1,000,000..1,000,000, higher first. ``run_at`` (datetime or Unix
        seconds) or ``delay`` (seconds or timedelta): not before then. ``max_attempts``:
        1..1000. ``backoff``: delay before a retry: ``"exponential"`` (1 s, 2 s, 4 s, ...),
        ``"fixed"`` (1 s), seconds (fixed), or ``(kind, base seconds)``; at most an hour.
        ``timeout``: longest one attempt may run (None: no limit). ``idempotency_key``: if a
        job with this key exists, it is returned and nothing is enqueued. ``headers``: metadata
        the worker sees beside the payload (``JobContext.headers``), e.g. a trace context from
        ``zerolag.tracing.inject()``: at most 32, names are ids, values str of at most 1 KiB.
        ``key`` (an id, not stored): in a partitioned namespace, jobs with the same key go to
        the same partition, so they keep FIFO order within a priority among themselves; else
        the idempotency key routes, else round-robin (docs/scaling.md).
        Raises ValidationError (bad kind, key or option), TypeError (payload not JSON).
        """
    def enqueue_many(self, items: Iterable[Mapping[str, Any]]) -> list[Job]:
        """Enqueues all or none: each item is ``{"kind": ..., "payload": ..., **options}`` with
        the options of :meth:`enqueue`. At most 10,000 per call. In a partitioned namespace on
        Redis, all or none per partition (one atomic step per partition)."""
    def partition_of(self, id: str) -> int:
        """The partition job ``id`` belongs to, from the id alone (0 with one partition).
        ValidationError for an id naming a partition the namespace does not have."""
    def get(self, id: str) -> Job:
        """The job; NotFoundError if there is none."""
    def list(
        self,
        queue: _Queue,
        *,
        kind: str | None = None,
        status: _JobStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of a queue's jobs in the order workers see them: ``ready`` (of one
        ``kind``, which it needs: highest priority first, then first enqueued), ``delayed``
        (not yet due or waiting for a retry; soonest first), ``running`` (earliest deadline
        first), ``finished`` (succeeded, dead or cancelled; newest first). ``kind`` and
        ``status`` filter; ``limit`` 1 to 1,000; ``cursor``: a page's ``next_cursor``. A
        listing is not a snapshot: a job that moves meanwhile may be missed or seen twice; on
        Redis a page reads at most 10,000 entries, so a rare filter may give a short page with
        a cursor. A partitioned namespace on Redis lists partition by partition."""
    def get_many(self, ids: Iterable[str]) -> builtins.list[Job | None]:
        """Jobs by id, None where missing."""
    def counts(self) -> builtins.list[_JobCount]:
        """How many jobs each kind has in each state: ``[{"kind", "state", "count"}]``,
        ordered by kind, then ``ready``, ``delayed`` (not yet due or waiting for a retry),
        ``running``, ``succeeded``, ``dead``, ``cancelled``; zero counts are left out. The
        counts are kept as jobs move, so this is one read whatever the number of jobs."""
    def cancel(self, id: str) -> bool:
        """Cancels a job that has not finished (True) or reports that it had (False).
        A running job's worker drops its result. NotFoundError if there is no such job."""
    def purge(self, older_than: _Seconds | None = None, *, limit: int | None = None) -> int:
        """Deletes succeeded, dead and cancelled jobs that finished at least ``older_than``
        seconds ago (default: all of them), oldest first, at most ``limit`` (None: all), with
        their idempotency keys; returns how many."""
    def requeue(
        self,
        ids: str | Iterable[str] | None = None,
        *,
        kind: str | None = None,
        limit: int | None = None,
    ) -> int:
        """Puts jobs back in their ready queue as if enqueued again: attempts from zero, a
        new place at the end of their priority; the id, payload, options and the last
        ``error`` stay. With ``ids`` (at most 10,000): those that are dead or cancelled;
        without: every dead job (of ``kind`` if given; at most ``limit``), oldest first, in
        batches of 1,000 (each one atomic step; a bulk requeue is not a snapshot). Other jobs
        are left alone. Returns how many moved. ValidationError for ids together with
        ``kind``/``limit``."""
    def workers(self) -> builtins.list[_WorkerInfo]:
        """The registered workers (:class:`zerolag.jobs.Worker` registers itself while it
        runs), first started first. ``lost`` is True for a worker that missed 3 beats in a
        row (killed, frozen or cut off); one silent for an hour is no longer listed."""
    def register_worker(
        self,
        id: str,
        *,
        kinds: str | Iterable[str],
        interval: _Seconds,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        """Registers worker ``id`` (again: its record starts over), running ``kinds`` and
        beating every ``interval`` seconds (0.01 to 600). ``host``: default this machine's
        name; ``pid``: default this process. For a worker runtime of your own."""
    def beat_worker(self, id: str, done: int, failed: int) -> bool:
        """Records a beat of worker ``id`` with its totals so far (jobs done, attempts
        failed). False if the registry does not know it (never registered, unregistered, or
        silent for an hour): register it again."""
    def unregister_worker(self, id: str) -> bool:
        """Removes worker ``id`` from the registry (a clean stop); False if it was not there."""
    def claim(
        self,
        kinds: str | Iterable[str],
        *,
        count: int = 1,
        worker: str = "worker",
        visibility: _Seconds | None = None,
        block_ms: int | None = 0,
        partitions: Iterable[int] | None = None,
    ) -> builtins.list[JobClaim]:
        """Claims up to ``count`` (1..1000) ready jobs of ``kinds``, best first, waiting up to
        ``block_ms`` for one (None: until one comes; Ctrl-C interrupts). Each claim lasts
        ``visibility`` seconds (default 30) unless extended by :meth:`heartbeat`.
        ``partitions``: only from these partitions (default all; ValidationError for one out
        of range); in a partitioned namespace each claim starts at another partition, so
        none starves, and "best first" holds within a partition."""
    def complete(self, claim: JobClaim, result: _JSON = None) -> None:
        """Marks the claimed attempt succeeded with ``result``. ConflictError if the claim
        is stale (reclaimed, cancelled or finished): nothing changes."""
    def fail(self, claim: JobClaim, error: str, *, retry: bool = True) -> None:
        """Fails the claimed attempt: retried after the backoff while attempts remain (and
        ``retry``), else dead with ``error``. ConflictError if the claim is stale."""
    def heartbeat(
        self, claim: JobClaim, *, visibility: _Seconds | None = None, progress: _JSON = None
    ) -> None:
        """Extends the claim by ``visibility`` seconds from now (never past the job's timeout)
        and stores ``progress`` if given. ConflictError if the claim is stale."""
    def _finish(self, items: Iterable[tuple[str, str, str, Any]]) -> builtins.list[_FinishAck]:
        """Worker batch: ``(id, token, "done" | "failed" | "dead", result or error)``."""
    def _heartbeat(
        self, items: Iterable[tuple[str, str, Any]], visibility: float
    ) -> builtins.list[_FinishAck]:
        """Worker batch: ``(id, token, progress or None)``."""
    def worker(self, handlers: Mapping[str, Any], **options: Any) -> Any:
        """A :class:`zerolag.jobs.Worker` running ``handlers`` (``{kind: handler(ctx)}``);
        options: ``concurrency``, ``visibility``, ``name``, ``batch``, ``partitions``."""
    def _async_twin(self) -> AsyncJobs: ...

# ---- generated by scripts/gen_async_stubs.py: AsyncJobs ----
@final
class AsyncJobs:
    """``hub.jobs`` of an :class:`AsyncHub`: the operations of :class:`Jobs` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def enqueue(
        self,
        kind: str,
        payload: _JSON = None,
        *,
        priority: int = 0,
        run_at: _datetime | float | None = None,
        delay: _Seconds | None = None,
        max_attempts: int = 3,
        backoff: _Backoff | None = None,
        timeout: _Seconds | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> Coroutine[Any, Any, Job]:
        """Enqueues a job of ``kind`` (an id: letters, digits, ``_ - . : / @ + =``) with a
        JSON ``payload`` (at most 1 MiB as JSON).

        ``priority``: -1,000,000..1,000,000, higher first. ``run_at`` (datetime or Unix
        seconds) or ``delay`` (seconds or timedelta): not before then. ``max_attempts``:
        1..1000. ``backoff``: delay before a retry: ``"exponential"`` (1 s, 2 s, 4 s, ...),
        ``"fixed"`` (1 s), seconds (fixed), or ``(kind, base seconds)``; at most an hour.
        ``timeout``: longest one attempt may run (None: no limit). ``idempotency_key``: if a
        job with this key exists, it is returned and nothing is enqueued. ``headers``: metadata
        the worker sees beside the payload (``JobContext.headers``), e.g. a trace context from
        ``zerolag.tracing.inject()``: at most 32, names are ids, values str of at most 1 KiB.
        ``key`` (an id, not stored): in a partitioned namespace, jobs with the same key go to
        the same partition, so they keep FIFO order within a priority among themselves; else
        the idempotency key routes, else round-robin (docs/scaling.md).
        Raises ValidationError (bad kind, key or option), TypeError (payload not JSON).
        """
    def enqueue_many(self, items: Iterable[Mapping[str, Any]]) -> Coroutine[Any, Any, list[Job]]:
        """Enqueues all or none: each item is ``{"kind": ..., "payload": ..., **options}`` with
        the options of :meth:`enqueue`. At most 10,000 per call. In a partitioned namespace on
        Redis, all or none per partition (one atomic step per partition)."""
    def partition_of(self, id: str) -> Coroutine[Any, Any, int]:
        """The partition job ``id`` belongs to, from the id alone (0 with one partition).
        ValidationError for an id naming a partition the namespace does not have."""
    def get(self, id: str) -> Coroutine[Any, Any, Job]:
        """The job; NotFoundError if there is none."""
    def list(
        self,
        queue: _Queue,
        *,
        kind: str | None = None,
        status: _JobStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Coroutine[Any, Any, JobPage]:
        """One page of a queue's jobs in the order workers see them: ``ready`` (of one
        ``kind``, which it needs: highest priority first, then first enqueued), ``delayed``
        (not yet due or waiting for a retry; soonest first), ``running`` (earliest deadline
        first), ``finished`` (succeeded, dead or cancelled; newest first). ``kind`` and
        ``status`` filter; ``limit`` 1 to 1,000; ``cursor``: a page's ``next_cursor``. A
        listing is not a snapshot: a job that moves meanwhile may be missed or seen twice; on
        Redis a page reads at most 10,000 entries, so a rare filter may give a short page with
        a cursor. A partitioned namespace on Redis lists partition by partition."""
    def get_many(self, ids: Iterable[str]) -> Coroutine[Any, Any, builtins.list[Job | None]]:
        """Jobs by id, None where missing."""
    def counts(self) -> Coroutine[Any, Any, builtins.list[_JobCount]]:
        """How many jobs each kind has in each state: ``[{"kind", "state", "count"}]``,
        ordered by kind, then ``ready``, ``delayed`` (not yet due or waiting for a retry),
        ``running``, ``succeeded``, ``dead``, ``cancelled``; zero counts are left out. The
        counts are kept as jobs move, so this is one read whatever the number of jobs."""
    def cancel(self, id: str) -> Coroutine[Any, Any, bool]:
        """Cancels a job that has not finished (True) or reports that it had (False).
        A running job's worker drops its result. NotFoundError if there is no such job."""
    def purge(
        self, older_than: _Seconds | None = None, *, limit: int | None = None
    ) -> Coroutine[Any, Any, int]:
        """Deletes succeeded, dead and cancelled jobs that finished at least ``older_than``
        seconds ago (default: all of them), oldest first, at most ``limit`` (None: all), with
        their idempotency keys; returns how many."""
    def requeue(
        self,
        ids: str | Iterable[str] | None = None,
        *,
        kind: str | None = None,
        limit: int | None = None,
    ) -> Coroutine[Any, Any, int]:
        """Puts jobs back in their ready queue as if enqueued again: attempts from zero, a
        new place at the end of their priority; the id, payload, options and the last
        ``error`` stay. With ``ids`` (at most 10,000): those that are dead or cancelled;
        without: every dead job (of ``kind`` if given; at most ``limit``), oldest first, in
        batches of 1,000 (each one atomic step; a bulk requeue is not a snapshot). Other jobs
        are left alone. Returns how many moved. ValidationError for ids together with
        ``kind``/``limit``."""
    def workers(self) -> Coroutine[Any, Any, builtins.list[_WorkerInfo]]:
        """The registered workers (:class:`zerolag.jobs.Worker` registers itself while it
        runs), first started first. ``lost`` is True for a worker that missed 3 beats in a
        row (killed, frozen or cut off); one silent for an hour is no longer listed."""
    def register_worker(
        self,
        id: str,
        *,
        kinds: str | Iterable[str],
        interval: _Seconds,
        host: str | None = None,
        pid: int | None = None,
    ) -> Coroutine[Any, Any, None]:
        """Registers worker ``id`` (again: its record starts over), running ``kinds`` and
        beating every ``interval`` seconds (0.01 to 600). ``host``: default this machine's
        name; ``pid``: default this process. For a worker runtime of your own."""
    def beat_worker(self, id: str, done: int, failed: int) -> Coroutine[Any, Any, bool]:
        """Records a beat of worker ``id`` with its totals so far (jobs done, attempts
        failed). False if the registry does not know it (never registered, unregistered, or
        silent for an hour): register it again."""
    def unregister_worker(self, id: str) -> Coroutine[Any, Any, bool]:
        """Removes worker ``id`` from the registry (a clean stop); False if it was not there."""
    def claim(
        self,
        kinds: str | Iterable[str],
        *,
        count: int = 1,
        worker: str = "worker",
        visibility: _Seconds | None = None,
        block_ms: int | None = 0,
        partitions: Iterable[int] | None = None,
    ) -> Coroutine[Any, Any, builtins.list[JobClaim]]:
        """Claims up to ``count`` (1..1000) ready jobs of ``kinds``, best first, waiting up to
        ``block_ms`` for one (None: until one comes; Ctrl-C interrupts). Each claim lasts
        ``visibility`` seconds (default 30) unless extended by :meth:`heartbeat`.
        ``partitions``: only from these partitions (default all; ValidationError for one out
        of range); in a partitioned namespace each claim starts at another partition, so
        none starves, and "best first" holds within a partition."""
    def complete(self, claim: JobClaim, result: _JSON = None) -> Coroutine[Any, Any, None]:
        """Marks the claimed attempt succeeded with ``result``. ConflictError if the claim
        is stale (reclaimed, cancelled or finished): nothing changes."""
    def fail(self, claim: JobClaim, error: str, *, retry: bool = True) -> Coroutine[Any, Any, None]:
        """Fails the claimed attempt: retried after the backoff while attempts remain (and
        ``retry``), else dead with ``error``. ConflictError if the claim is stale."""
    def heartbeat(
        self, claim: JobClaim, *, visibility: _Seconds | None = None, progress: _JSON = None
    ) -> Coroutine[Any, Any, None]:
        """Extends the claim by ``visibility`` seconds from now (never past the job's timeout)
        and stores ``progress`` if given. ConflictError if the claim is stale."""
    def _finish(
        self, items: Iterable[tuple[str, str, str, Any]]
    ) -> Coroutine[Any, Any, builtins.list[_FinishAck]]:
        """Worker batch: ``(id, token, "done" | "failed" | "dead", result or error)``."""
    def _heartbeat(
        self, items: Iterable[tuple[str, str, Any]], visibility: float
    ) -> Coroutine[Any, Any, builtins.list[_FinishAck]]:
        """Worker batch: ``(id, token, progress or None)``."""
    def worker(self, handlers: Mapping[str, Any], **options: Any) -> Any:
        """A :class:`zerolag.jobs.Worker` running ``handlers`` (``{kind: handler(ctx)}``);
        options: ``concurrency``, ``visibility``, ``name``, ``batch``, ``partitions``."""
    def _sync_twin(self) -> Jobs: ...

# ---- end of generated AsyncJobs ----

# ---- patterns (src/py/patterns.rs) -------------------------------------------------------

class _PatternSettings(TypedDict):
    """Retention, limits and anonymisation of one pattern-memory handle."""

    ttl: float
    max_fixes: int
    max_sessions: int
    max_payload: int
    anonymize: bool

class _PatternExport(TypedDict):
    """What :meth:`Patterns.export` returns (``format`` is ``"zerolag.patterns/1"``)."""

    format: str
    repo: str
    patterns: builtins.list[dict[str, Any]]
    issues: builtins.list[dict[str, Any]]
    fixes: builtins.list[dict[str, Any]]
    sessions: builtins.list[dict[str, Any]]

@final
class Pattern:
    """A learned pattern of a repository. Immutable."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    @property
    def id(self) -> str:
        """``p`` + 16 hex digits, derived from repository, type and data when first stored."""
    @property
    def repo(self) -> str: ...
    @property
    def type(self) -> str:
        """The pattern type (normalised like a task keyword)."""
    @property
    def data(self) -> _JSON:
        """The pattern (anonymised JSON; a fresh copy on each access)."""
    @property
    def confidence(self) -> float:
        """0..1."""
    @property
    def observations(self) -> int:
        """How often it was stored or observed."""
    @property
    def first_seen(self) -> float:
        """Unix seconds when first stored."""
    @property
    def last_seen(self) -> float:
        """Unix seconds when last stored or observed."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class IssueStat:
    """How often a rule fired in a repository (overall, or in the window asked for)."""

    @property
    def repo(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def file(self) -> str:
        """File of the last occurrence (anonymised)."""
    @property
    def severity(self) -> str:
        """Severity of the last occurrence."""
    @property
    def message(self) -> str:
        """Message of the last occurrence (anonymised)."""
    @property
    def first_seen(self) -> float: ...
    @property
    def last_seen(self) -> float: ...

@final
class FixOutcome:
    """A proposed fix and whether the team accepted it."""

    @property
    def repo(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def fix(self) -> str:
        """The proposed fix (anonymised)."""
    @property
    def accepted(self) -> bool: ...
    @property
    def feedback(self) -> str | None:
        """Feedback (anonymised)."""
    @property
    def time(self) -> float: ...

@final
class Acceptance:
    """Acceptance of one rule's fixes, over the fix outcomes kept."""

    @property
    def rule_id(self) -> str: ...
    @property
    def accepted(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def rate(self) -> float:
        """accepted / total."""

@final
class LearningSession:
    """A learning session summary."""

    @property
    def repo(self) -> str: ...
    @property
    def summary(self) -> _JSON:
        """The summary (anonymised JSON)."""
    @property
    def time(self) -> float: ...

@final
class Trend:
    """How often a rule fired in the last ``window_days`` days against the window before."""

    @property
    def rule_id(self) -> str: ...
    @property
    def current(self) -> int: ...
    @property
    def previous(self) -> int: ...
    @property
    def change(self) -> int:
        """current - previous."""

@final
class Insights:
    """What :meth:`Patterns.insights` returns."""

    @property
    def repo(self) -> str: ...
    @property
    def patterns(self) -> list[Pattern]:
        """Most confident patterns."""
    @property
    def issues(self) -> list[IssueStat]:
        """Most frequent issues overall."""
    @property
    def acceptance(self) -> list[Acceptance]:
        """Fix acceptance per rule, most fixes first."""
    @property
    def trends(self) -> list[Trend]:
        """Rules whose counts moved most between the two windows."""
    @property
    def counts(self) -> dict[str, int]:
        """Live records of the repository: ``patterns``, ``issues``, ``fixes``, ``sessions``."""
    @property
    def window_days(self) -> int: ...

@final
class PatternHealth:
    """What :meth:`Patterns.health` returns."""

    @property
    def backend(self) -> str: ...
    @property
    def connected(self) -> bool:
        """False when the store could not be reached (the other fields are then empty)."""
    @property
    def rtt_ms(self) -> float: ...
    @property
    def counts(self) -> dict[str, int]:
        """Live records of the namespace: ``patterns``, ``issues``, ``fixes``, ``sessions``,
        and ``repos``."""
    @property
    def storage_bytes(self) -> int:
        """Redis: MEMORY USAGE summed over the keys; embedded: bytes of the stored rows."""
    @property
    def oldest(self) -> float | None:
        """Unix seconds of the oldest record (first seen / recorded)."""
    @property
    def newest(self) -> float | None:
        """Unix seconds of the newest record (last seen / recorded)."""

@final
class Patterns:
    """``hub.patterns`` of a sync hub: pattern memory for learning agents.

    Every string stored (pattern data, issue files and messages, fixes, feedback, session
    summaries, imports) first goes through the anonymiser (see :meth:`configure`). Every
    record expires ``ttl`` seconds (default 90 days) after its last write or use; reads skip
    expired records and :meth:`cleanup` deletes them.
    """

    def configure(
        self,
        *,
        ttl: float | None = None,
        max_fixes: int | None = None,
        max_sessions: int | None = None,
        max_payload: int | None = None,
        anonymize: bool | None = None,
        disable: Sequence[str] | None = None,
        rules: dict[str, str] | None = None,
        key: bytes | None = None,
    ) -> _PatternSettings:
        """Change this handle's settings; returns those in force. ``ttl`` in seconds;
        ``max_fixes`` / ``max_sessions`` kept per repository (1000 / 500); ``max_payload``
        bytes per stored text or JSON (64 KiB); ``anonymize=False`` stores strings as given;
        ``disable`` (categories), ``rules`` (name -> regex) and ``key`` configure the
        anonymiser like :class:`Anonymizer`."""
    def store(self, repo: str, type: str, data: _JSON, *, confidence: float = 0.5) -> Pattern:
        """Store a pattern; storing the same repository, type and data again counts one more
        observation and sets its confidence and last seen time."""
    def get(
        self, repo: str, type: str | None = None, *, min_confidence: float = 0.0, limit: int = 50
    ) -> list[Pattern]:
        """Patterns of ``repo`` (of one type, or all) with at least ``min_confidence``, most
        confident first (then most observed). Each returned pattern's expiry is refreshed."""
    def pattern(self, id: str) -> Pattern:
        """One pattern (refreshes its expiry); NotFoundError when absent or expired."""
    def update(
        self,
        id: str,
        *,
        confidence: float | None = None,
        data: _JSON = None,
        observe: bool = True,
    ) -> Pattern:
        """Count an observation (``observe``), and/or set confidence or data; refreshes the
        expiry. NotFoundError when absent or expired."""
    def delete(self, id: str) -> bool:
        """Delete a pattern; False when there was none."""
    def track_issue(
        self,
        repo: str,
        rule_id: str,
        *,
        file: str = "",
        severity: str = "warning",
        message: str = "",
        at: float | None = None,
    ) -> IssueStat:
        """Count one occurrence of ``rule_id`` (atomically; ``at`` in Unix seconds, default
        now); returns the issue's overall count."""
    def top_issues(
        self, repo: str, *, limit: int = 10, since: float | None = None
    ) -> list[IssueStat]:
        """Most frequent issues: overall, or (``since``, Unix seconds) counted per UTC day from
        the day of ``since`` to today."""
    def record_fix(
        self,
        repo: str,
        rule_id: str,
        *,
        fix: str,
        accepted: bool,
        feedback: str | None = None,
        at: float | None = None,
    ) -> FixOutcome:
        """Record a proposed fix and whether it was accepted (the newest ``max_fixes`` per
        repository are kept)."""
    def fixes(self, repo: str, *, rule_id: str | None = None, limit: int = 100) -> list[FixOutcome]:
        """The newest fix outcomes, newest first."""
    def acceptance(self, repo: str) -> dict[str, Acceptance]:
        """Acceptance per rule over the fix outcomes kept."""
    def record_session(
        self, repo: str, summary: _JSON, *, at: float | None = None
    ) -> LearningSession:
        """Record a learning session summary (the newest ``max_sessions`` are kept)."""
    def sessions(self, repo: str, *, limit: int = 50) -> list[LearningSession]:
        """The newest sessions, newest first."""
    def insights(self, repo: str, *, limit: int = 10, window_days: int = 7) -> Insights:
        """Top patterns, most frequent issues, fix acceptance per rule and trends (this window
        of ``window_days`` days against the one before), in one store round trip."""
    def health(self) -> PatternHealth:
        """Connection, record counts, storage used, oldest and newest record."""
    def cleanup(self) -> int:
        """Delete every expired record now; returns how many went."""
    def export(self, repo: str) -> _PatternExport:
        """Every live record of ``repo`` as a JSON-able dict (times in Unix seconds)."""
    def import_(self, data: Mapping[str, Any], *, repo: str | None = None) -> int:
        """Replace what the repository (``data["repo"]``, or ``repo``) holds with an export
        (strings anonymised again, expiry counted from now); returns the records written."""
    def clear(self) -> int:
        """Delete everything pattern memory holds in this namespace."""
    @property
    def closed(self) -> bool:
        """True once the hub is closed."""
    def close(self) -> None:
        """Close the hub this memory belongs to (what :func:`zerolag.create_pattern_memory`
        opened)."""
    def __enter__(self) -> Patterns: ...
    def __exit__(self, *args: object) -> bool: ...

# ---- generated by scripts/gen_async_stubs.py: AsyncPatterns ----
@final
class AsyncPatterns:
    """``hub.patterns`` of an :class:`AsyncHub`: the operations of :class:`Patterns` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def configure(
        self,
        *,
        ttl: float | None = None,
        max_fixes: int | None = None,
        max_sessions: int | None = None,
        max_payload: int | None = None,
        anonymize: bool | None = None,
        disable: Sequence[str] | None = None,
        rules: dict[str, str] | None = None,
        key: bytes | None = None,
    ) -> _PatternSettings:
        """Change this handle's settings; returns those in force. ``ttl`` in seconds;
        ``max_fixes`` / ``max_sessions`` kept per repository (1000 / 500); ``max_payload``
        bytes per stored text or JSON (64 KiB); ``anonymize=False`` stores strings as given;
        ``disable`` (categories), ``rules`` (name -> regex) and ``key`` configure the
        anonymiser like :class:`Anonymizer`."""
    def store(
        self, repo: str, type: str, data: _JSON, *, confidence: float = 0.5
    ) -> Coroutine[Any, Any, Pattern]:
        """Store a pattern; storing the same repository, type and data again counts one more
        observation and sets its confidence and last seen time."""
    def get(
        self, repo: str, type: str | None = None, *, min_confidence: float = 0.0, limit: int = 50
    ) -> Coroutine[Any, Any, list[Pattern]]:
        """Patterns of ``repo`` (of one type, or all) with at least ``min_confidence``, most
        confident first (then most observed). Each returned pattern's expiry is refreshed."""
    def pattern(self, id: str) -> Coroutine[Any, Any, Pattern]:
        """One pattern (refreshes its expiry); NotFoundError when absent or expired."""
    def update(
        self, id: str, *, confidence: float | None = None, data: _JSON = None, observe: bool = True
    ) -> Coroutine[Any, Any, Pattern]:
        """Count an observation (``observe``), and/or set confidence or data; refreshes the
        expiry. NotFoundError when absent or expired."""
    def delete(self, id: str) -> Coroutine[Any, Any, bool]:
        """Delete a pattern; False when there was none."""
    def track_issue(
        self,
        repo: str,
        rule_id: str,
        *,
        file: str = "",
        severity: str = "warning",
        message: str = "",
        at: float | None = None,
    ) -> Coroutine[Any, Any, IssueStat]:
        """Count one occurrence of ``rule_id`` (atomically; ``at`` in Unix seconds, default
        now); returns the issue's overall count."""
    def top_issues(
        self, repo: str, *, limit: int = 10, since: float | None = None
    ) -> Coroutine[Any, Any, list[IssueStat]]:
        """Most frequent issues: overall, or (``since``, Unix seconds) counted per UTC day from
        the day of ``since`` to today."""
    def record_fix(
        self,
        repo: str,
        rule_id: str,
        *,
        fix: str,
        accepted: bool,
        feedback: str | None = None,
        at: float | None = None,
    ) -> Coroutine[Any, Any, FixOutcome]:
        """Record a proposed fix and whether it was accepted (the newest ``max_fixes`` per
        repository are kept)."""
    def fixes(
        self, repo: str, *, rule_id: str | None = None, limit: int = 100
    ) -> Coroutine[Any, Any, list[FixOutcome]]:
        """The newest fix outcomes, newest first."""
    def acceptance(self, repo: str) -> Coroutine[Any, Any, dict[str, Acceptance]]:
        """Acceptance per rule over the fix outcomes kept."""
    def record_session(
        self, repo: str, summary: _JSON, *, at: float | None = None
    ) -> Coroutine[Any, Any, LearningSession]:
        """Record a learning session summary (the newest ``max_sessions`` are kept)."""
    def sessions(self, repo: str, *, limit: int = 50) -> Coroutine[Any, Any, list[LearningSession]]:
        """The newest sessions, newest first."""
    def insights(
        self, repo: str, *, limit: int = 10, window_days: int = 7
    ) -> Coroutine[Any, Any, Insights]:
        """Top patterns, most frequent issues, fix acceptance per rule and trends (this window
        of ``window_days`` days against the one before), in one store round trip."""
    def health(self) -> Coroutine[Any, Any, PatternHealth]:
        """Connection, record counts, storage used, oldest and newest record."""
    def cleanup(self) -> Coroutine[Any, Any, int]:
        """Delete every expired record now; returns how many went."""
    def export(self, repo: str) -> Coroutine[Any, Any, _PatternExport]:
        """Every live record of ``repo`` as a JSON-able dict (times in Unix seconds)."""
    def import_(
        self, data: Mapping[str, Any], *, repo: str | None = None
    ) -> Coroutine[Any, Any, int]:
        """Replace what the repository (``data["repo"]``, or ``repo``) holds with an export
        (strings anonymised again, expiry counted from now); returns the records written."""
    def clear(self) -> Coroutine[Any, Any, int]:
        """Delete everything pattern memory holds in this namespace."""

# ---- end of generated AsyncPatterns ----

# ---- protocol (src/py/protocol.rs) -------------------------------------------------------

_ProtoDirection = Literal["command", "event"]

@final
class TaskCreate:
    """``tc:{title}|{intent}|{complexity}`` command: ask the backend to create a task.

    ``complexity`` is ``"low"``, ``"medium"``, ``"high"``, ``"critical"`` or a float in 0..1.
    Raises ProtocolError for an empty title/intent or an out-of-range complexity.
    """

    kind: ClassVar[Literal["tc"]]
    direction: ClassVar[Literal["command"]]
    __match_args__ = ("title", "intent", "complexity")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, title: str, intent: str, complexity: str | float) -> TaskCreate: ...
    @property
    def title(self) -> str:
        """What the task is, in words."""
    @property
    def intent(self) -> str:
        """The intent type, e.g. ``business_growth``."""
    @property
    def complexity(self) -> str | float:
        """A level name or a score in 0..1."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "tc", "title": ..., "intent": ..., "complexity": ...}``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class TaskSplit:
    """``ts:{task_id}|{confidence}|{reason}`` command; ``task_id`` may be ``"auto"``."""

    kind: ClassVar[Literal["ts"]]
    direction: ClassVar[Literal["command"]]
    __match_args__ = ("task_id", "confidence", "reason")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, task_id: str, confidence: float, reason: str) -> TaskSplit: ...
    @property
    def task_id(self) -> str:
        """The task to split, or ``"auto"``."""
    @property
    def confidence(self) -> float:
        """Confidence in 0..1."""
    @property
    def reason(self) -> str:
        """Why (may be empty)."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "ts", ...fields}``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class WorkflowStart:
    """``wf:{workflow_id}|{params}`` command; ``params`` is any _JSON value."""

    kind: ClassVar[Literal["wf"]]
    direction: ClassVar[Literal["command"]]
    __match_args__ = ("workflow_id", "params")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, workflow_id: str, params: Any) -> WorkflowStart: ...
    @property
    def workflow_id(self) -> str:
        """Which workflow."""
    @property
    def params(self) -> Any:
        """Its parameters (dict, list, str, int, float, bool or None)."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "wf", ...fields}``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class ContextLoad:
    """``cl:{context_id}|{depth}`` command; ``depth`` is text (``"full"``) or an int."""

    kind: ClassVar[Literal["cl"]]
    direction: ClassVar[Literal["command"]]
    __match_args__ = ("context_id", "depth")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, context_id: str, depth: str | int) -> ContextLoad: ...
    @property
    def context_id(self) -> str:
        """Which context."""
    @property
    def depth(self) -> str | int:
        """How much of it."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "cl", ...fields}``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class MemoryStore:
    """``ms:{key}|{value}|{type}`` command; ``value`` is any _JSON value."""

    kind: ClassVar[Literal["ms"]]
    direction: ClassVar[Literal["command"]]
    __match_args__ = ("key", "value", "type")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, key: str, value: Any, type: str) -> MemoryStore: ...
    @property
    def key(self) -> str:
        """Memory key."""
    @property
    def value(self) -> Any:
        """What to remember."""
    @property
    def type(self) -> str:
        """Memory type, e.g. ``semantic``."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "ms", ...fields}``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class TaskReady:
    """``tr:{task_id}|{confidence}|{routing}`` event."""

    kind: ClassVar[Literal["tr"]]
    direction: ClassVar[Literal["event"]]
    __match_args__ = ("task_id", "confidence", "routing")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, task_id: str, confidence: float, routing: str) -> TaskReady: ...
    @property
    def task_id(self) -> str:
        """The task."""
    @property
    def confidence(self) -> float:
        """Confidence in 0..1."""
    @property
    def routing(self) -> str:
        """How it was routed, e.g. ``one_shot``."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "tr", ...fields}``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class TaskComplete:
    """``tc:{task_id}|{result}|{next_steps}`` event; result and next_steps are any _JSON value."""

    kind: ClassVar[Literal["tc"]]
    direction: ClassVar[Literal["event"]]
    __match_args__ = ("task_id", "result", "next_steps")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, task_id: str, result: Any, next_steps: Any) -> TaskComplete: ...
    @property
    def task_id(self) -> str:
        """The task."""
    @property
    def result(self) -> Any:
        """Its result."""
    @property
    def next_steps(self) -> Any:
        """What comes next."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "tc", ...fields}``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class StatusUpdate:
    """``su:{entity_id}|{status}|{progress}`` event; progress in 0..1."""

    kind: ClassVar[Literal["su"]]
    direction: ClassVar[Literal["event"]]
    __match_args__ = ("entity_id", "status", "progress")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, entity_id: str, status: str, progress: float) -> StatusUpdate: ...
    @property
    def entity_id(self) -> str:
        """The task, workflow or job."""
    @property
    def status(self) -> str:
        """Its status, e.g. ``in_progress``."""
    @property
    def progress(self) -> float:
        """Progress in 0..1."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "su", ...fields}``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class ContextLoaded:
    """``cl:{context_id}|{summary}`` event."""

    kind: ClassVar[Literal["cl"]]
    direction: ClassVar[Literal["event"]]
    __match_args__ = ("context_id", "summary")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, context_id: str, summary: str) -> ContextLoaded: ...
    @property
    def context_id(self) -> str:
        """Which context."""
    @property
    def summary(self) -> str:
        """What it holds, in words."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "cl", ...fields}``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class ErrorEvent:
    """``er:{code}|{message}|{recovery}`` event; codes and hints in ``ERROR_CODES``."""

    kind: ClassVar[Literal["er"]]
    direction: ClassVar[Literal["event"]]
    __match_args__ = ("code", "message", "recovery")
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, code: str, message: str, recovery: str) -> ErrorEvent: ...
    @property
    def code(self) -> str:
        """Error code such as ``E_TIMEOUT``."""
    @property
    def message(self) -> str:
        """What went wrong."""
    @property
    def recovery(self) -> str:
        """What to do about it."""
    def encode(self) -> str:
        """The canonical line."""
    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "er", ...fields}``."""
    def __eq__(self, other: object, /) -> bool: ...

_ProtoCommand = TaskCreate | TaskSplit | WorkflowStart | ContextLoad | MemoryStore
_ProtoEvent = TaskReady | TaskComplete | StatusUpdate | ContextLoaded | ErrorEvent

@final
class ExtractError:
    """A candidate in a reply that looked like a command but did not parse."""

    @property
    def source(self) -> str:
        """The command text from its prefix on (without brackets or label)."""
    @property
    def offset(self) -> int:
        """Character offset in the reply where the removed span starts."""
    @property
    def line(self) -> int:
        """1-based line number."""
    @property
    def position(self) -> int:
        """Character offset of the problem within ``source``."""
    @property
    def expected(self) -> str:
        """What the parser expected there."""
    @property
    def message(self) -> str:
        """What is wrong."""
    def to_event(self) -> ErrorEvent:
        """The ``er:E_PARSE|…`` event a frontend can send back."""

@final
class Extraction:
    """What ``extract`` found."""

    @property
    def commands(self) -> list[Any]:
        """Decoded commands (or events, for ``direction="event"``), in order."""
    @property
    def text(self) -> str:
        """The reply with the coded lines removed and whitespace tidied."""
    @property
    def errors(self) -> list[ExtractError]:
        """Candidates that did not parse, in order."""

ERROR_CODES: dict[str, str]
"""``er:`` codes and their recovery hints."""
PROTOCOL_VERSION: int
"""Version of the grammar in docs/protocol.md."""
MAX_LINE_BYTES: int
"""Longest line (UTF-8 bytes) the decoder accepts."""
MAX_DEPTH: int
"""Deepest nesting of ``{}``/``[]`` literals the decoder accepts."""

@overload
def decode(line: str, direction: Literal["command"]) -> _ProtoCommand: ...
@overload
def decode(line: str, direction: Literal["event"]) -> _ProtoEvent: ...
@overload
def decode(line: str, direction: _ProtoDirection) -> _ProtoCommand | _ProtoEvent: ...
def decode_command(line: str) -> _ProtoCommand:
    """Decodes a frontend → backend command; ProtocolError names position and expectation."""

def decode_event(line: str) -> _ProtoEvent:
    """Decodes a backend → frontend event."""

@overload
def decode_many(
    lines: Iterable[str], direction: Literal["command"] = "command"
) -> list[_ProtoCommand]: ...
@overload
def decode_many(lines: Iterable[str], direction: Literal["event"]) -> list[_ProtoEvent]: ...
def encode(obj: _ProtoCommand | _ProtoEvent) -> str:
    """The canonical line of a command or event object."""

def extract(text: str, direction: _ProtoDirection = "command") -> Extraction:
    """Finds the coded lines in a model's reply (rules in docs/protocol.md)."""

# ---------------------------------------------------------------- the dual loop's frontend state

_BudgetTuple = tuple[int, int, int, int, int, int]

def build_prompt(
    system: str,
    commands: list[str],
    status: list[tuple[bool, str]],
    user: str,
    budget_: _BudgetTuple,
    count: Callable[[str], int] | None = None,
    memories: list[str] = ...,
) -> tuple[list[dict[str, str]], dict[str, int], list[str]]:
    """The budgeted frontend prompt (what ``zerolag.prompt.build_prompt`` returns as a
    ``Prompt``): ``(messages, tokens per section, trimmed sections)``. ``budget_``: ``(total,
    system, commands, status, user, memories)``; ``count``: tokens of a text (default: the
    estimate, one per four characters); ``memories``: lines of the ``# Relevant memories``
    section, best first."""

@final
class LoopState:
    """What one ``zerolag.DualLoop`` knows about its sessions, in memory: the commands it
    dispatched (the last 64 per session) and the latest backend event about each, for at
    most ``max_sessions`` sessions (the least recently used is forgotten). Thread-safe.
    Internal to the loop; a bad session name raises ``ValidationError``."""

    def __new__(cls, max_sessions: int = 10000) -> LoopState: ...
    def __len__(self) -> int: ...
    def prompt(
        self,
        session: str,
        message: str,
        system: str,
        budget_: _BudgetTuple,
        grace: float,
        count: Callable[[str], int] | None = None,
        memories: list[str] = ...,
    ) -> tuple[list[dict[str, str]], dict[str, int]]:
        """The prompt of ``session`` for ``message`` now: ``(messages, tokens)``, with its
        recent commands and backend status (``grace``: seconds after which a command no
        worker picked up says so) and ``memories`` (lines, best first)."""
    def set_kind(self, kind: str, options: Mapping[str, Any]) -> None:
        """Registers command ``kind`` with its job options (an ``enqueue_many`` item without
        payload: ``{"kind": job kind, "max_attempts": ..., ...}``); bad options raise."""
    def dispatch(
        self,
        jobs: Jobs,
        session: str,
        commands: Iterable[_ProtoCommand],
        tasks: list[tuple[str, bool]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[list[str], list[str]]:
        """Queues ``commands`` of ``session`` as one atomic enqueue and remembers them:
        ``(job ids, task ids of the tc commands)``. ``tasks``: per ``tc`` in order, a task id
        and whether it is indexed already (default: fresh ids, indexed by the worker).
        ``headers``: given to every job (a trace context)."""
    def adispatch(
        self,
        jobs: AsyncJobs,
        session: str,
        commands: Iterable[_ProtoCommand],
        tasks: list[tuple[str, bool]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Awaitable[tuple[list[str], list[str]]]:
        """:meth:`dispatch` on an async hub's jobs. On one Redis server the enqueue is sent
        from the calling thread and a reply that comes while it polls (up to
        ``ZEROLAG_BUSY_POLL_US``, 200 us) completes there: the awaitable is then an asyncio
        future already done. A slower reply is awaited on another thread."""
    def check(
        self, text: str, max_commands: int, max_command_bytes: int
    ) -> tuple[str, list[_ProtoCommand], list[ErrorEvent]]:
        """Checks a model reply (its handoffs already taken out): ``(text for the user,
        commands, er events)``. Malformed or half-written commands, more than
        ``max_commands``, an unregistered kind or a command over ``max_command_bytes`` each
        give an event; any event means nothing in the reply may run."""
    def apply(
        self, session: str, line: str, job: str | None, command: str | None, when: float
    ) -> bool:
        """Applies a backend event (its coded line, job id, command line, time); a command
        dispatched elsewhere is adopted from its first event. False if ``line`` is not an
        event or ``session`` not a valid name (nothing changes)."""
    def waiting(self, session: str, grace: float) -> tuple[int, float]:
        """``(count, oldest queued_at)`` of commands no backend touched for over ``grace``
        seconds (``oldest`` is ``inf`` when none)."""
    def status(self, session: str, grace: float) -> list[str]:
        """The backend status lines of ``session`` now."""

# ---- analytics and trending (src/py/analytics.rs, src/py/trending.rs) --------------------

_PropValue = str | int | bool

class _TrackItem(TypedDict, total=False):
    """One event of :meth:`Analytics.track_many` (``event`` is required)."""

    event: str
    user: str | int | None
    props: Mapping[str, _PropValue] | None
    at: _Time | None

@final
class Analytics:
    """``hub.analytics``: event counters (all-time totals, per UTC day and hour, per day by
    property value) and unique users per event and day (HyperLogLog, Redis's own algorithm on
    every backend: about 0.81 % standard error). Day and hour buckets expire after the
    namespace's retention (:meth:`set_retention`, 90 days by default). Times are Unix seconds
    or datetimes; ranges include both ends' buckets (days or hours, UTC)."""

    def track(
        self,
        event: str,
        user: str | int | None = None,
        props: Mapping[str, _PropValue] | None = None,
        *,
        at: _Time | None = None,
    ) -> None:
        """Record one event at ``at`` (default now): its total, its day and hour counts, its
        day count per property value (at most 8 properties) and ``user`` in the day's unique
        users. ``event``: 1-128 bytes, no whitespace, control characters or ``* ? [ ] { } \\``."""
    def track_many(self, events: Iterable[str | _TrackItem]) -> int:
        """Record up to 10,000 events in one round trip (one script or transaction): each an
        event name or a dict with ``event`` and optionally ``user``, ``props``, ``at``;
        returns how many."""
    @overload
    def counts(
        self,
        event: str,
        since: _Time | None = None,
        until: _Time | None = None,
        *,
        by: Literal["day", "hour"] = "day",
        by_prop: None = None,
        now: _Time | None = None,
    ) -> builtins.list[tuple[int, int]]:
        """``(bucket start in Unix seconds, count)`` of ``event`` for every UTC day (or hour)
        from ``since`` to ``until`` (default: the last 30 days, or 24 hours), zeros included.
        Buckets expired at ``now`` (default: the time) count 0."""
    @overload
    def counts(
        self,
        event: str,
        since: _Time | None = None,
        until: _Time | None = None,
        *,
        by: Literal["day", "hour"] = "day",
        by_prop: str,
        now: _Time | None = None,
    ) -> dict[str, int]:
        """Counts of ``event`` from ``since`` to ``until`` by the values of property
        ``by_prop`` (``{"pro": 12, "free": 40}``), largest first."""
    def uniques(
        self,
        event: str,
        since: _Time | None = None,
        until: _Time | None = None,
        *,
        now: _Time | None = None,
    ) -> int:
        """Distinct users of ``event`` from ``since`` to ``until`` (default: the last 30 days):
        the days' HyperLogLogs merged (``PFCOUNT`` of many keys on Redis)."""
    def events(
        self,
        since: _Time | None = None,
        until: _Time | None = None,
        *,
        now: _Time | None = None,
    ) -> dict[str, int]:
        """Totals per event, largest first: all time when no range is given, else summed over
        the days from ``since`` to ``until``."""
    def top_events(
        self,
        n: int = 10,
        since: _Time | None = None,
        until: _Time | None = None,
        *,
        now: _Time | None = None,
    ) -> builtins.list[tuple[str, int]]:
        """The ``n`` events with the largest totals (all time, or over the range)."""
    def set_retention(self, days: int) -> int:
        """Keep day and hour buckets ``days`` days (1-3650) after their day ends, for the
        whole namespace (stored: every process sees it); returns it. Buckets already written
        keep the expiry they were written with; reads apply the new retention at once."""
    def retention(self) -> int:
        """Days buckets are kept after their day ends (90 unless set)."""
    def sweep(self, *, now: _Time | None = None) -> int:
        """Remove buckets expired at ``now`` (default: the time) on the embedded store, which
        also does so in the background; returns how many rows went (0 on Redis, whose keys
        expire by themselves)."""

# ---- generated by scripts/gen_async_stubs.py: AsyncAnalytics ----
@final
class AsyncAnalytics:
    """``hub.analytics`` of an :class:`AsyncHub`: the operations of :class:`Analytics` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def track(
        self,
        event: str,
        user: str | int | None = None,
        props: Mapping[str, _PropValue] | None = None,
        *,
        at: _Time | None = None,
    ) -> Coroutine[Any, Any, None]:
        """Record one event at ``at`` (default now): its total, its day and hour counts, its
        day count per property value (at most 8 properties) and ``user`` in the day's unique
        users. ``event``: 1-128 bytes, no whitespace, control characters or ``* ? [ ] { } \\``."""
    def track_many(self, events: Iterable[str | _TrackItem]) -> Coroutine[Any, Any, int]:
        """Record up to 10,000 events in one round trip (one script or transaction): each an
        event name or a dict with ``event`` and optionally ``user``, ``props``, ``at``;
        returns how many."""
    @overload
    def counts(
        self,
        event: str,
        since: _Time | None = None,
        until: _Time | None = None,
        *,
        by: Literal["day", "hour"] = "day",
        by_prop: None = None,
        now: _Time | None = None,
    ) -> Coroutine[Any, Any, builtins.list[tuple[int, int]]]:
        """``(bucket start in Unix seconds, count)`` of ``event`` for every UTC day (or hour)
        from ``since`` to ``until`` (default: the last 30 days, or 24 hours), zeros included.
        Buckets expired at ``now`` (default: the time) count 0."""
    @overload
    def counts(
        self,
        event: str,
        since: _Time | None = None,
        until: _Time | None = None,
        *,
        by: Literal["day", "hour"] = "day",
        by_prop: str,
        now: _Time | None = None,
    ) -> Coroutine[Any, Any, dict[str, int]]:
        """Counts of ``event`` from ``since`` to ``until`` by the values of property
        ``by_prop`` (``{"pro": 12, "free": 40}``), largest first."""
    def uniques(
        self,
        event: str,
        since: _Time | None = None,
        until: _Time | None = None,
        *,
        now: _Time | None = None,
    ) -> Coroutine[Any, Any, int]:
        """Distinct users of ``event`` from ``since`` to ``until`` (default: the last 30 days):
        the days' HyperLogLogs merged (``PFCOUNT`` of many keys on Redis)."""
    def events(
        self, since: _Time | None = None, until: _Time | None = None, *, now: _Time | None = None
    ) -> Coroutine[Any, Any, dict[str, int]]:
        """Totals per event, largest first: all time when no range is given, else summed over
        the days from ``since`` to ``until``."""
    def top_events(
        self,
        n: int = 10,
        since: _Time | None = None,
        until: _Time | None = None,
        *,
        now: _Time | None = None,
    ) -> Coroutine[Any, Any, builtins.list[tuple[str, int]]]:
        """The ``n`` events with the largest totals (all time, or over the range)."""
    def set_retention(self, days: int) -> Coroutine[Any, Any, int]:
        """Keep day and hour buckets ``days`` days (1-3650) after their day ends, for the
        whole namespace (stored: every process sees it); returns it. Buckets already written
        keep the expiry they were written with; reads apply the new retention at once."""
    def retention(self) -> Coroutine[Any, Any, int]:
        """Days buckets are kept after their day ends (90 unless set)."""
    def sweep(self, *, now: _Time | None = None) -> Coroutine[Any, Any, int]:
        """Remove buckets expired at ``now`` (default: the time) on the embedded store, which
        also does so in the background; returns how many rows went (0 on Redis, whose keys
        expire by themselves)."""

# ---- end of generated AsyncAnalytics ----

@final
class Trending:
    """``hub.trending``: boards of items ranked by score. A board is plain (scores add up),
    time-decayed (``half_life``) or windowed (``window``: the last hour, day, ...); see
    :meth:`define`. Boards keep at most ``max_items`` items (the lowest go). Board names
    follow the event-name rules; items are 1-256 bytes without control characters."""

    def define(
        self,
        board: str,
        *,
        half_life: float | None = None,
        window: float | None = None,
        max_items: int = 1000,
    ) -> None:
        """Declare a board before its first bump: ``half_life`` seconds (a bump's weight
        halves every half-life) or ``window`` seconds (at least 60; only the bumps of the last
        window count, to 1/60 of it), and ``max_items``. A board bumped without being defined
        is plain with 1,000 items. ConflictError if the board exists with other options."""
    def bump(
        self, board: str, item: str, by: float = 1.0, *, at: _Time | None = None
    ) -> float | None:
        """Add ``by`` to ``item`` at ``at`` (default now); returns its score at ``at`` (None
        when ``at`` is before a windowed board's window)."""
    @overload
    def top(
        self,
        board: str,
        n: int = 10,
        *,
        with_scores: Literal[True] = True,
        now: _Time | None = None,
    ) -> builtins.list[tuple[str, float]]:
        """The best ``n`` items at ``now`` (default: the time), best first, with their
        scores then (ties: the greater item first)."""
    @overload
    def top(
        self, board: str, n: int = 10, *, with_scores: Literal[False], now: _Time | None = None
    ) -> builtins.list[str]:
        """The best ``n`` items, best first, without scores."""
    def rank(self, board: str, item: str, *, now: _Time | None = None) -> int | None:
        """The place of ``item`` (1 = first) at ``now``; None when it is not on the board."""
    def score(self, board: str, item: str, *, now: _Time | None = None) -> float | None:
        """The score of ``item`` at ``now``; None when it is not on the board."""
    def delete(self, board: str) -> bool:
        """Delete a board with its items and options; True if it existed."""

# ---- generated by scripts/gen_async_stubs.py: AsyncTrending ----
@final
class AsyncTrending:
    """``hub.trending`` of an :class:`AsyncHub`: the operations of :class:`Trending` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def define(
        self,
        board: str,
        *,
        half_life: float | None = None,
        window: float | None = None,
        max_items: int = 1000,
    ) -> Coroutine[Any, Any, None]:
        """Declare a board before its first bump: ``half_life`` seconds (a bump's weight
        halves every half-life) or ``window`` seconds (at least 60; only the bumps of the last
        window count, to 1/60 of it), and ``max_items``. A board bumped without being defined
        is plain with 1,000 items. ConflictError if the board exists with other options."""
    def bump(
        self, board: str, item: str, by: float = 1.0, *, at: _Time | None = None
    ) -> Coroutine[Any, Any, float | None]:
        """Add ``by`` to ``item`` at ``at`` (default now); returns its score at ``at`` (None
        when ``at`` is before a windowed board's window)."""
    @overload
    def top(
        self,
        board: str,
        n: int = 10,
        *,
        with_scores: Literal[True] = True,
        now: _Time | None = None,
    ) -> Coroutine[Any, Any, builtins.list[tuple[str, float]]]:
        """The best ``n`` items at ``now`` (default: the time), best first, with their
        scores then (ties: the greater item first)."""
    @overload
    def top(
        self, board: str, n: int = 10, *, with_scores: Literal[False], now: _Time | None = None
    ) -> Coroutine[Any, Any, builtins.list[str]]:
        """The best ``n`` items, best first, without scores."""
    def rank(
        self, board: str, item: str, *, now: _Time | None = None
    ) -> Coroutine[Any, Any, int | None]:
        """The place of ``item`` (1 = first) at ``now``; None when it is not on the board."""
    def score(
        self, board: str, item: str, *, now: _Time | None = None
    ) -> Coroutine[Any, Any, float | None]:
        """The score of ``item`` at ``now``; None when it is not on the board."""
    def delete(self, board: str) -> Coroutine[Any, Any, bool]:
        """Delete a board with its items and options; True if it existed."""

# ---- end of generated AsyncTrending ----
# ---- rate limits, sessions, feature flags (src/py/limits.rs, sessions.rs, flags.rs) ------

@final
class RateLimit:
    """What a rate-limit check decided (true in a boolean context when allowed)."""

    @property
    def allowed(self) -> bool:
        """True when the request is admitted (for ``peek``: would be)."""
    @property
    def limit(self) -> int:
        """The limit checked against."""
    @property
    def remaining(self) -> int:
        """Admissions left in the window after this decision."""
    @property
    def reset_after(self) -> float:
        """Seconds until the window holds none of this key's admissions (0: it holds none)."""
    @property
    def retry_after(self) -> float:
        """Seconds until a request of the same cost would be admitted (0 when allowed)."""
    def __bool__(self) -> bool: ...

@final
class Limits:
    """``hub.limits``: exact sliding-window rate limits. A key (a user, an endpoint, both:
    ``"user:42/search"``; 1 to 128 of letters, digits and ``_ - . : / @ + =``) admits at most
    ``limit`` requests in any ``window_s`` seconds, counted from a log of its admissions (a
    request of ``cost`` c takes c entries; the log never holds more than ``limit``), in one
    atomic script or transaction, across every process sharing the store. ``limit`` is 1 to
    100,000; ``cost`` 1 to ``limit``; ``now`` is seconds since the epoch (default: the clock).
    """

    def check(
        self, key: str, limit: int, window_s: float, cost: int = 1, *, now: float | None = None
    ) -> RateLimit:
        """Admit a request of ``cost`` on ``key`` when fewer than ``limit`` admissions fall in
        the last ``window_s`` seconds, and record it."""
    def peek(
        self, key: str, limit: int, window_s: float, cost: int = 1, *, now: float | None = None
    ) -> RateLimit:
        """What :meth:`check` would decide now, recording nothing."""
    def reset(self, key: str) -> bool:
        """Forget ``key``'s admissions; True if it had any."""

# ---- generated by scripts/gen_async_stubs.py: AsyncLimits ----
@final
class AsyncLimits:
    """``hub.limits`` of an :class:`AsyncHub`: the operations of :class:`Limits` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def check(
        self, key: str, limit: int, window_s: float, cost: int = 1, *, now: float | None = None
    ) -> Coroutine[Any, Any, RateLimit]:
        """Admit a request of ``cost`` on ``key`` when fewer than ``limit`` admissions fall in
        the last ``window_s`` seconds, and record it."""
    def peek(
        self, key: str, limit: int, window_s: float, cost: int = 1, *, now: float | None = None
    ) -> Coroutine[Any, Any, RateLimit]:
        """What :meth:`check` would decide now, recording nothing."""
    def reset(self, key: str) -> Coroutine[Any, Any, bool]:
        """Forget ``key``'s admissions; True if it had any."""

# ---- end of generated AsyncLimits ----

@final
class Session:
    """One live session."""

    @property
    def id(self) -> str:
        """Its id: 32 hex digits, 128 bits from the operating system's random source."""
    @property
    def user(self) -> str:
        """Its user."""
    @property
    def data(self) -> dict[str, Any]:
        """Its data (top-level keys in byte order)."""
    @property
    def created_at(self) -> float:
        """When it was created, seconds since the epoch."""
    @property
    def expires_at(self) -> float:
        """When it expires, seconds since the epoch."""
    @property
    def ttl(self) -> float:
        """Its time to live in seconds (what :meth:`Sessions.touch` extends it by)."""

@final
class Sessions:
    """``hub.sessions``: sessions with a time to live. An expired session is never returned;
    ``now`` (seconds since the epoch, default the clock) is the time every call compares
    expiries with. User ids are 1 to 128 of letters, digits and ``_ - . : / @ + =``; data is
    a dict of JSON values of at most 64 KiB (keys plus JSON values)."""

    def create(
        self,
        user: str,
        data: Mapping[str, Any] | None = None,
        *,
        ttl: float,
        now: float | None = None,
    ) -> Session:
        """Start a session of ``user`` holding ``data``, living ``ttl`` seconds; returns it (its
        ``id`` is the secret to hand out)."""
    def get(self, id: str, *, now: float | None = None) -> Session | None:
        """The live session ``id``, or None (unknown, expired, destroyed, or not a session id
        at all)."""
    def touch(self, id: str, *, ttl: float | None = None, now: float | None = None) -> bool:
        """Extend a live session to ``now`` plus ``ttl`` seconds (None: its own time to live; a
        given one becomes its own); False if there is no live session ``id``."""
    def update(
        self,
        id: str,
        data: Mapping[str, Any],
        *,
        replace: bool = False,
        now: float | None = None,
    ) -> bool:
        """Merge ``data`` into a live session's data key by key at the top level (a key given
        as None is removed), or replace it (``replace=True``); False if there is no live
        session ``id``. ValidationError, nothing written, when the result would pass 64 KiB.
        The expiry is unchanged."""
    def destroy(self, id: str, *, now: float | None = None) -> bool:
        """End session ``id``; True if it was live."""
    def for_user(self, user: str, *, now: float | None = None) -> list[Session]:
        """The live sessions of ``user``, oldest first."""
    def destroy_user(self, user: str, *, now: float | None = None) -> int:
        """End every session of ``user``; returns how many were live."""

# ---- generated by scripts/gen_async_stubs.py: AsyncSessions ----
@final
class AsyncSessions:
    """``hub.sessions`` of an :class:`AsyncHub`: the operations of :class:`Sessions` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def create(
        self,
        user: str,
        data: Mapping[str, Any] | None = None,
        *,
        ttl: float,
        now: float | None = None,
    ) -> Coroutine[Any, Any, Session]:
        """Start a session of ``user`` holding ``data``, living ``ttl`` seconds; returns it (its
        ``id`` is the secret to hand out)."""
    def get(self, id: str, *, now: float | None = None) -> Coroutine[Any, Any, Session | None]:
        """The live session ``id``, or None (unknown, expired, destroyed, or not a session id
        at all)."""
    def touch(
        self, id: str, *, ttl: float | None = None, now: float | None = None
    ) -> Coroutine[Any, Any, bool]:
        """Extend a live session to ``now`` plus ``ttl`` seconds (None: its own time to live; a
        given one becomes its own); False if there is no live session ``id``."""
    def update(
        self, id: str, data: Mapping[str, Any], *, replace: bool = False, now: float | None = None
    ) -> Coroutine[Any, Any, bool]:
        """Merge ``data`` into a live session's data key by key at the top level (a key given
        as None is removed), or replace it (``replace=True``); False if there is no live
        session ``id``. ValidationError, nothing written, when the result would pass 64 KiB.
        The expiry is unchanged."""
    def destroy(self, id: str, *, now: float | None = None) -> Coroutine[Any, Any, bool]:
        """End session ``id``; True if it was live."""
    def for_user(
        self, user: str, *, now: float | None = None
    ) -> Coroutine[Any, Any, list[Session]]:
        """The live sessions of ``user``, oldest first."""
    def destroy_user(self, user: str, *, now: float | None = None) -> Coroutine[Any, Any, int]:
        """End every session of ``user``; returns how many were live."""

# ---- end of generated AsyncSessions ----

@final
class FlagState:
    """A feature flag's settings."""

    @property
    def global_(self) -> bool | None:
        """The global switch: True (on for everyone), False (off for everyone) or None (per
        user and rollout)."""
    @property
    def percent(self) -> float:
        """The rollout, in percent of users."""
    @property
    def enabled(self) -> int:
        """Users enabled one by one (:meth:`Flags.count`)."""
    @property
    def disabled(self) -> int:
        """Users disabled one by one."""

@final
class Flags:
    """``hub.flags``: feature flags. Whether a flag is on for a user is, in this order: the
    flag's global switch when set; else the user's own setting (:meth:`enable`,
    :meth:`disable`); else the rollout (on for ``percent`` % of users, by a stable hash of the
    flag and the user id: the same answer in every process and on every backend). Flags and
    user ids are 1 to 128 of letters, digits and ``_ - . : / @ + =``."""

    def enable(self, flag: str, user: str) -> bool:
        """Turn ``flag`` on for ``user`` (their own setting: it wins over the rollout, not over
        the global switch); True if that changed anything."""
    def disable(self, flag: str, user: str) -> bool:
        """Turn ``flag`` off for ``user`` (their own setting); True if that changed anything."""
    def unset(self, flag: str, user: str) -> bool:
        """Remove ``user``'s own setting of ``flag`` (back to the global switch and the
        rollout); True if they had one."""
    def enabled(self, flag: str, user: str) -> bool:
        """Whether ``flag`` is on for ``user``."""
    def enabled_many(self, flag: str, users: Iterable[str]) -> list[bool]:
        """Whether ``flag`` is on for each of ``users`` (at most 10,000), in one round trip."""
    def count(self, flag: str) -> int:
        """Users who have ``flag`` enabled one by one (not those the rollout or the global
        switch turn it on for)."""
    def set_global(self, flag: str, on: bool | None) -> None:
        """Set the global switch of ``flag``: True on for everyone, False off for everyone,
        None back to per user and rollout."""
    def rollout(self, flag: str, percent: float) -> None:
        """Turn ``flag`` on for ``percent`` % of users (0 to 100, two decimals), picked by a
        stable hash of the flag and the user id."""
    def state(self, flag: str) -> FlagState:
        """The settings of ``flag``."""
    def delete(self, flag: str) -> bool:
        """Forget ``flag``: its switch, rollout and every user's setting; True if it had any."""

# ---- generated by scripts/gen_async_stubs.py: AsyncFlags ----
@final
class AsyncFlags:
    """``hub.flags`` of an :class:`AsyncHub`: the operations of :class:`Flags` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def enable(self, flag: str, user: str) -> Coroutine[Any, Any, bool]:
        """Turn ``flag`` on for ``user`` (their own setting: it wins over the rollout, not over
        the global switch); True if that changed anything."""
    def disable(self, flag: str, user: str) -> Coroutine[Any, Any, bool]:
        """Turn ``flag`` off for ``user`` (their own setting); True if that changed anything."""
    def unset(self, flag: str, user: str) -> Coroutine[Any, Any, bool]:
        """Remove ``user``'s own setting of ``flag`` (back to the global switch and the
        rollout); True if they had one."""
    def enabled(self, flag: str, user: str) -> Coroutine[Any, Any, bool]:
        """Whether ``flag`` is on for ``user``."""
    def enabled_many(self, flag: str, users: Iterable[str]) -> Coroutine[Any, Any, list[bool]]:
        """Whether ``flag`` is on for each of ``users`` (at most 10,000), in one round trip."""
    def count(self, flag: str) -> Coroutine[Any, Any, int]:
        """Users who have ``flag`` enabled one by one (not those the rollout or the global
        switch turn it on for)."""
    def set_global(self, flag: str, on: bool | None) -> Coroutine[Any, Any, None]:
        """Set the global switch of ``flag``: True on for everyone, False off for everyone,
        None back to per user and rollout."""
    def rollout(self, flag: str, percent: float) -> Coroutine[Any, Any, None]:
        """Turn ``flag`` on for ``percent`` % of users (0 to 100, two decimals), picked by a
        stable hash of the flag and the user id."""
    def state(self, flag: str) -> Coroutine[Any, Any, FlagState]:
        """The settings of ``flag``."""
    def delete(self, flag: str) -> Coroutine[Any, Any, bool]:
        """Forget ``flag``: its switch, rollout and every user's setting; True if it had any."""

# ---- end of generated AsyncFlags ----
# ---- chat and activity (src/py/streams.rs, src/streams/) ----------------------------------

_ChatRole = Literal["system", "developer", "user", "assistant", "tool", "function"]

class _ChatMessageIn(TypedDict, total=False):
    role: _ChatRole
    content: str
    meta: _JSON

class _ActivityItemIn(TypedDict, total=False):
    kind: str
    data: _JSON

class _LogSettings(TypedDict):
    max_len: int
    max_size: int

@final
class ChatEntry:
    """One message of a conversation as stored."""

    @property
    def id(self) -> str:
        """Position in its conversation (``"<ms>-<seq>"``, growing); pass it as ``after`` or
        ``before`` to :meth:`Chat.range` or as ``after`` to :meth:`Chat.follow`."""
    @property
    def conversation(self) -> str: ...
    @property
    def role(self) -> _ChatRole: ...
    @property
    def content(self) -> str: ...
    @property
    def meta(self) -> _JSON:
        """The metadata given to ``append`` (any JSON value), or None."""
    @property
    def time(self) -> float:
        """When it was appended, in seconds since the epoch (the milliseconds of its id)."""
    def to_dict(self) -> dict[str, Any]:
        """``{"id", "conversation", "role", "content", "meta", "time"}``."""
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ActivityItem:
    """One item of a user's activity feed as stored."""

    @property
    def id(self) -> str:
        """Position in the feed (``"<ms>-<seq>"``, growing)."""
    @property
    def user(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def data(self) -> _JSON:
        """The data given to ``add`` (any JSON value)."""
    @property
    def time(self) -> float:
        """When it was added, in seconds since the epoch (the milliseconds of its id)."""
    def to_dict(self) -> dict[str, Any]:
        """``{"id", "user", "kind", "data", "time"}``."""
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ChatFollow:
    """The messages of one conversation as they are appended, from :meth:`Chat.follow`
    (by any process): iterate it (blocks; Ctrl-C interrupts) or call :meth:`get`."""

    def __iter__(self) -> ChatFollow: ...
    def __next__(self) -> ChatEntry: ...
    def get(self, timeout: float | None = None) -> ChatEntry | None:
        """The next message, or None after ``timeout`` seconds (None: as long as it takes)."""
    @property
    def last_id(self) -> str | None:
        """Id of the last message handed out (pass it as ``after`` to resume), or None."""
    @property
    def conversation(self) -> str: ...
    def close(self) -> None:
        """Stops the iteration."""
    def __enter__(self) -> ChatFollow: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class AsyncChatFollow:
    """The messages of one conversation as they are appended, from :meth:`AsyncChat.follow`:
    ``async for m in f`` or ``await f.get(timeout)``. Without ``after`` it starts at the end
    of the conversation when first used (``async with`` or the first ``get``/``__anext__``).
    Each read waits at most 250 ms, so a cancelled wait stops within that."""

    def __aiter__(self) -> AsyncChatFollow: ...
    def __anext__(self) -> Coroutine[Any, Any, ChatEntry]: ...
    def get(self, timeout: float | None = None) -> Coroutine[Any, Any, ChatEntry | None]:
        """The next message, or None after ``timeout`` seconds (None: as long as it takes)."""
    @property
    def last_id(self) -> str | None:
        """Id of the last message handed out (pass it as ``after`` to resume), or None."""
    @property
    def conversation(self) -> str: ...
    def aclose(self) -> Coroutine[Any, Any, None]:
        """Stops the iteration."""
    def __aenter__(self) -> Coroutine[Any, Any, AsyncChatFollow]: ...
    def __aexit__(self, *args: object) -> Coroutine[Any, Any, bool]: ...

@final
class ActivityFollow:
    """The items of one user's feed as they are added, from :meth:`Activity.follow`."""

    def __iter__(self) -> ActivityFollow: ...
    def __next__(self) -> ActivityItem: ...
    def get(self, timeout: float | None = None) -> ActivityItem | None:
        """The next item, or None after ``timeout`` seconds (None: as long as it takes)."""
    @property
    def last_id(self) -> str | None:
        """Id of the last item handed out (pass it as ``after`` to resume), or None."""
    @property
    def user(self) -> str: ...
    def close(self) -> None:
        """Stops the iteration."""
    def __enter__(self) -> ActivityFollow: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class AsyncActivityFollow:
    """The items of one user's feed as they are added, from :meth:`AsyncActivity.follow`
    (``async for``); without ``after`` it starts at the end of the feed when first used."""

    def __aiter__(self) -> AsyncActivityFollow: ...
    def __anext__(self) -> Coroutine[Any, Any, ActivityItem]: ...
    def get(self, timeout: float | None = None) -> Coroutine[Any, Any, ActivityItem | None]:
        """The next item, or None after ``timeout`` seconds (None: as long as it takes)."""
    @property
    def last_id(self) -> str | None:
        """Id of the last item handed out (pass it as ``after`` to resume), or None."""
    @property
    def user(self) -> str: ...
    def aclose(self) -> Coroutine[Any, Any, None]:
        """Stops the iteration."""
    def __aenter__(self) -> Coroutine[Any, Any, AsyncActivityFollow]: ...
    def __aexit__(self, *args: object) -> Coroutine[Any, Any, bool]: ...

@final
class Chat:
    """``hub.chat``: conversations, each a log of messages that keeps its newest ``max_len``
    (1,000 by default), read newest-last and followed live from any process.

    Conversation ids are ids (1 to 128 of letters, digits and ``_ - . : / @ + =``). A role is
    one of ``system``, ``developer``, ``user``, ``assistant``, ``tool``, ``function``; content
    is text; ``meta`` any JSON value (tool calls, names, model details). Content and meta
    together are at most ``max_size`` bytes (1 MiB by default): a bigger message raises
    ValidationError naming ``content``. Ids are ``"<ms>-<seq>"`` and grow within a
    conversation, also across a :meth:`clear`. One Redis stream per conversation; a table on
    the embedded store.
    """

    def configure(self, *, max_len: int | None = None, max_size: int | None = None) -> _LogSettings:
        """This handle's limits (None: unchanged): ``max_len`` messages a conversation keeps
        (each append trims to it; 1 to 1,000,000), ``max_size`` bytes of one message's content
        and meta (1 to 16 MiB). Returns those in force; not a store operation, and per
        process (another process trims to its own ``max_len``)."""
    def append(self, conversation: str, role: _ChatRole, content: str, meta: _JSON = None) -> str:
        """Append one message, trim the conversation, wake its followers (one script or
        transaction); returns the message's id."""
    def append_recent(
        self,
        conversation: str,
        role: _ChatRole,
        content: str,
        meta: _JSON = None,
        *,
        n: int = 50,
    ) -> tuple[str, list[ChatEntry]]:
        """Append one message and return its id with the newest ``n`` messages (1 to
        10,000), oldest first: a chat turn (store the user's message, read what the prompt
        is built from) in one round trip on a Redis server (two on a cluster), one
        transaction on the embedded store. The new message is the last one unless another
        client appended meanwhile."""
    def append_many(
        self,
        conversation: str,
        messages: Iterable[_ChatMessageIn | tuple[_ChatRole, str] | tuple[_ChatRole, str, _JSON]],
    ) -> list[str]:
        """Append messages in order, all or none (one script or transaction): dicts with
        ``role``, ``content`` and optionally ``meta``, or ``(role, content[, meta])``
        tuples. Returns their ids."""
    def recent(self, conversation: str, n: int = 50) -> list[ChatEntry]:
        """The newest ``n`` messages (1 to 10,000), oldest first: the order a prompt wants."""
    def range(
        self,
        conversation: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 100,
    ) -> list[ChatEntry]:
        """Messages after the id ``after`` (None or ``"0"``: from the oldest kept) and before
        the id ``before`` (None: to the newest), both exclusive, oldest first, at most
        ``limit`` (1 to 10,000); page on with ``after=`` the last id."""
    def follow(self, conversation: str, *, after: str | None = None) -> ChatFollow:
        """The messages appended after ``after`` (None: from now; ``"0"``: from the oldest
        kept) by any process, as a blocking iterator."""
    def count(self, conversation: str) -> int:
        """Messages the conversation holds."""
    def clear(self, conversation: str) -> int:
        """Delete the conversation; returns how many messages went."""

# ---- generated by scripts/gen_async_stubs.py: AsyncChat ----
@final
class AsyncChat:
    """``hub.chat`` of an :class:`AsyncHub`: the operations of :class:`Chat` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def configure(self, *, max_len: int | None = None, max_size: int | None = None) -> _LogSettings:
        """This handle's limits (None: unchanged): ``max_len`` messages a conversation keeps
        (each append trims to it; 1 to 1,000,000), ``max_size`` bytes of one message's content
        and meta (1 to 16 MiB). Returns those in force; not a store operation, and per
        process (another process trims to its own ``max_len``)."""
    def append(
        self, conversation: str, role: _ChatRole, content: str, meta: _JSON = None
    ) -> Coroutine[Any, Any, str]:
        """Append one message, trim the conversation, wake its followers (one script or
        transaction); returns the message's id."""
    def append_recent(
        self, conversation: str, role: _ChatRole, content: str, meta: _JSON = None, *, n: int = 50
    ) -> Coroutine[Any, Any, tuple[str, list[ChatEntry]]]:
        """Append one message and return its id with the newest ``n`` messages (1 to
        10,000), oldest first: a chat turn (store the user's message, read what the prompt
        is built from) in one round trip on a Redis server (two on a cluster), one
        transaction on the embedded store. The new message is the last one unless another
        client appended meanwhile."""
    def append_many(
        self,
        conversation: str,
        messages: Iterable[_ChatMessageIn | tuple[_ChatRole, str] | tuple[_ChatRole, str, _JSON]],
    ) -> Coroutine[Any, Any, list[str]]:
        """Append messages in order, all or none (one script or transaction): dicts with
        ``role``, ``content`` and optionally ``meta``, or ``(role, content[, meta])``
        tuples. Returns their ids."""
    def recent(self, conversation: str, n: int = 50) -> Coroutine[Any, Any, list[ChatEntry]]:
        """The newest ``n`` messages (1 to 10,000), oldest first: the order a prompt wants."""
    def range(
        self,
        conversation: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 100,
    ) -> Coroutine[Any, Any, list[ChatEntry]]:
        """Messages after the id ``after`` (None or ``"0"``: from the oldest kept) and before
        the id ``before`` (None: to the newest), both exclusive, oldest first, at most
        ``limit`` (1 to 10,000); page on with ``after=`` the last id."""
    def follow(self, conversation: str, *, after: str | None = None) -> AsyncChatFollow:
        """The messages appended after ``after`` (None: from the end of the conversation when
        first used; ``"0"``: from the oldest kept) by any process, as an async iterator
        (``async for m in hub.chat.follow("c1")``)."""
    def count(self, conversation: str) -> Coroutine[Any, Any, int]:
        """Messages the conversation holds."""
    def clear(self, conversation: str) -> Coroutine[Any, Any, int]:
        """Delete the conversation; returns how many messages went."""

# ---- end of generated AsyncChat ----

@final
class Activity:
    """``hub.activity``: per-user feeds of typed items (``"login"``, ``"comment"``,
    ``"task:done"`` ...), each keeping its newest ``max_len`` (1,000 by default), followed
    live from any process. The same engine as :class:`Chat`: user ids and kinds are ids
    (letters, digits and ``_ - . : / @ + =``), data any JSON value of at most ``max_size``
    bytes."""

    def configure(self, *, max_len: int | None = None, max_size: int | None = None) -> _LogSettings:
        """This handle's limits (None: unchanged): ``max_len`` items a feed keeps,
        ``max_size`` bytes of one item's data (as JSON). Returns those in force; per
        process."""
    def add(self, user: str, kind: str, data: _JSON = None) -> str:
        """Append one item to the user's feed, trim it, wake its followers; returns its id."""
    def add_many(
        self, user: str, items: Iterable[_ActivityItemIn | tuple[str, _JSON]]
    ) -> list[str]:
        """Append items in order, all or none: dicts with ``kind`` and ``data`` or
        ``(kind, data)`` tuples. Returns their ids."""
    def recent(self, user: str, n: int = 50) -> list[ActivityItem]:
        """The newest ``n`` items, oldest first."""
    def range(
        self,
        user: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 100,
    ) -> list[ActivityItem]:
        """Items after ``after`` and before ``before`` (ids, both exclusive), oldest first."""
    def follow(self, user: str, *, after: str | None = None) -> ActivityFollow:
        """The items added after ``after`` (None: from now; ``"0"``: from the oldest kept),
        as a blocking iterator."""
    def count(self, user: str) -> int:
        """Items the feed holds."""
    def clear(self, user: str) -> int:
        """Delete the user's feed; returns how many items went."""

# ---- generated by scripts/gen_async_stubs.py: AsyncActivity ----
@final
class AsyncActivity:
    """``hub.activity`` of an :class:`AsyncHub`: the operations of :class:`Activity` as
    coroutines (run one with ``await``, ``asyncio.create_task`` or ``asyncio.gather``)."""

    def configure(self, *, max_len: int | None = None, max_size: int | None = None) -> _LogSettings:
        """This handle's limits (None: unchanged): ``max_len`` items a feed keeps,
        ``max_size`` bytes of one item's data (as JSON). Returns those in force; per
        process."""
    def add(self, user: str, kind: str, data: _JSON = None) -> Coroutine[Any, Any, str]:
        """Append one item to the user's feed, trim it, wake its followers; returns its id."""
    def add_many(
        self, user: str, items: Iterable[_ActivityItemIn | tuple[str, _JSON]]
    ) -> Coroutine[Any, Any, list[str]]:
        """Append items in order, all or none: dicts with ``kind`` and ``data`` or
        ``(kind, data)`` tuples. Returns their ids."""
    def recent(self, user: str, n: int = 50) -> Coroutine[Any, Any, list[ActivityItem]]:
        """The newest ``n`` items, oldest first."""
    def range(
        self, user: str, *, after: str | None = None, before: str | None = None, limit: int = 100
    ) -> Coroutine[Any, Any, list[ActivityItem]]:
        """Items after ``after`` and before ``before`` (ids, both exclusive), oldest first."""
    def follow(self, user: str, *, after: str | None = None) -> AsyncActivityFollow:
        """The items added after ``after`` (None: from the end of the feed when first used;
        ``"0"``: from the oldest kept), as an async iterator."""
    def count(self, user: str) -> Coroutine[Any, Any, int]:
        """Items the feed holds."""
    def clear(self, user: str) -> Coroutine[Any, Any, int]:
        """Delete the user's feed; returns how many items went."""

# ---- end of generated AsyncActivity ----

@final
class Server:
    """The HTTP service of a hub, running (from :meth:`Hub.serve`); a context manager that
    closes it."""

    @property
    def url(self) -> str:
        """``http://<address>:<port>``."""
    @property
    def port(self) -> int:
        """The port it listens on (the one picked when 0 was asked)."""
    @property
    def host(self) -> str:
        """The host it was asked to bind."""
    @property
    def running(self) -> bool:
        """True until :meth:`close`."""
    def stats(self) -> dict[str, int]:
        """``{"clients", "subscriptions", "dropped"}``: SSE clients now, event log followers
        now (one per set of channel patterns in use, shared by its clients), and clients
        dropped as too slow so far."""
    def close(self) -> None:
        """Stop: close every connection and release the port (returns once it is free)."""
    def __enter__(self) -> Server: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class HttpApp:
    """The Rust half of :func:`zerolag.http.app`: the JSON endpoints and the realtime streams
    of one hub, with one fan-out shared by the app's clients."""

    def __new__(
        cls,
        hub: Hub | AsyncHub,
        *,
        ping: float = 15.0,
        buffer: int = 1024,
        max_clients: int = 1000,
    ) -> HttpApp: ...
    @property
    def page(self) -> str:
        """The dashboard page served at ``/``."""
    def get(self, path: str, query: str) -> Coroutine[Any, Any, tuple[int, bytes] | None]:
        """``(status, JSON body)`` of ``GET path?query`` for the JSON endpoints, None for a
        path that is not one."""
    def realtime(
        self, channels: list[str], after: str | None = None
    ) -> Coroutine[Any, Any, tuple[int, bytes, SseStream | None]]:
        """Open a realtime stream of ``channels`` (patterns; none: every channel) resuming
        after event id ``after``: ``(200, b"", stream)``, or ``(status, JSON body, None)``
        when refused (400 bad pattern or id, 503 too many clients or the store is down)."""
    def stats(self) -> dict[str, int]:
        """As :meth:`Server.stats`."""
    def close(self) -> None:
        """End every stream."""

@final
class SseStream:
    """The frames of one realtime client as ready-to-send bytes (``async for chunk in
    stream``); each step joins every frame ready at that moment. It ends when the client was
    dropped as too slow or the service stopped."""

    def __aiter__(self) -> SseStream: ...
    def __anext__(self) -> Coroutine[Any, Any, bytes]: ...
    @property
    def dropped(self) -> bool:
        """True when the stream ended because the client was too slow."""
