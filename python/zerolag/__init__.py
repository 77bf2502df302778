"""zerolag: the coordination and memory layer for Python LLM agents, with a Rust core.

Open a hub on the embedded store (no server) or on Redis, then use its capabilities::

    import zerolag

    with zerolag.open() as hub:
        hub.tasks.create("User authentication", intent="auth", keywords=["jwt"])
        print(hub.tasks.search(intent="auth").tasks)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator
from types import TracebackType
from typing import Any

from . import cache, llm, protocol
from ._core import (
    Acceptance,
    Activity,
    ActivityFollow,
    ActivityItem,
    Analytics,
    Anonymizer,
    Archive,
    ArchivedMessage,
    ArchivePage,
    AsyncActivity,
    AsyncActivityFollow,
    AsyncAnalytics,
    AsyncArchive,
    AsyncBus,
    AsyncCache,
    AsyncChanges,
    AsyncChangeSubscription,
    AsyncChat,
    AsyncChatFollow,
    AsyncDocs,
    AsyncEvents,
    AsyncFlags,
    AsyncHub,
    AsyncJobs,
    AsyncKeyIterator,
    AsyncKv,
    AsyncLimits,
    AsyncMemory,
    AsyncPatterns,
    AsyncSessions,
    AsyncSubscription,
    AsyncTasks,
    AsyncTrending,
    Bus,
    BusStats,
    Cache,
    CacheStats,
    Change,
    ChangePage,
    Changes,
    ChangeSubscription,
    Chat,
    ChatEntry,
    ChatFollow,
    DeadLetter,
    Delivery,
    Docs,
    Document,
    Event,
    Events,
    Finding,
    FixOutcome,
    Flags,
    FlagState,
    Health,
    Hub,
    Insights,
    IssueStat,
    Job,
    JobClaim,
    JobPage,
    Jobs,
    KeyIterator,
    KeyPage,
    Kv,
    KvItem,
    LearningSession,
    Limits,
    Memory,
    MemoryEdge,
    MemoryHit,
    MemoryRecord,
    Message,
    Pattern,
    PatternHealth,
    Patterns,
    RateLimit,
    SearchPage,
    SemanticMatch,
    Server,
    Session,
    Sessions,
    Subscription,
    Sync,
    Task,
    Tasks,
    Transfer,
    Trend,
    Trending,
    __version__,
    anonymize,
)
from .cache import cached_model
from .exceptions import (
    ArchiveUnavailable,
    AuthenticationError,
    BackendError,
    ClosedError,
    ConflictError,
    ConnectionError,
    NotFoundError,
    ProtocolError,
    RescanRequired,
    TimeoutError,
    ValidationError,
    ZerolagError,
)
from .jobs import JobContext, Worker, WorkerStats
from .loop import CommandContext, DualLoop, LoopEvent, LoopMemory, Reply, Timings
from .patterns import create_pattern_memory
from .prompt import Budget

# A library stays quiet unless the application configures logging (docs/observability.md).
logging.getLogger("zerolag").addHandler(logging.NullHandler())

__all__ = [
    "open",
    "open_async",
    "Hub",
    "AsyncHub",
    "Health",
    "Transfer",
    "Archive",
    "AsyncArchive",
    "ArchivePage",
    "ArchivedMessage",
    "Task",
    "Tasks",
    "AsyncTasks",
    "JobPage",
    "SearchPage",
    "Bus",
    "AsyncBus",
    "Changes",
    "AsyncChanges",
    "Change",
    "ChangePage",
    "ChangeSubscription",
    "AsyncChangeSubscription",
    "RescanRequired",
    "ArchiveUnavailable",
    "Event",
    "Message",
    "Delivery",
    "DeadLetter",
    "BusStats",
    "Docs",
    "AsyncDocs",
    "Document",
    "Sync",
    "Events",
    "AsyncEvents",
    "Subscription",
    "AsyncSubscription",
    "Server",
    "Jobs",
    "AsyncJobs",
    "Kv",
    "AsyncKv",
    "KvItem",
    "Memory",
    "AsyncMemory",
    "MemoryRecord",
    "MemoryEdge",
    "MemoryHit",
    "KeyPage",
    "KeyIterator",
    "AsyncKeyIterator",
    "Cache",
    "AsyncCache",
    "CacheStats",
    "SemanticMatch",
    "cached_model",
    "Patterns",
    "AsyncPatterns",
    "create_pattern_memory",
    "Pattern",
    "IssueStat",
    "FixOutcome",
    "Acceptance",
    "LearningSession",
    "Trend",
    "Insights",
    "PatternHealth",
    "Job",
    "JobClaim",
    "JobContext",
    "Worker",
    "WorkerStats",
    "DualLoop",
    "Reply",
    "Timings",
    "LoopEvent",
    "LoopMemory",
    "CommandContext",
    "Budget",
    "cache",
    "llm",
    "protocol",
    "anonymize",
    "Anonymizer",
    "Finding",
    "ZerolagError",
    "ValidationError",
    "ProtocolError",
    "NotFoundError",
    "ConflictError",
    "ConnectionError",
    "AuthenticationError",
    "TimeoutError",
    "ClosedError",
    "BackendError",
    "Analytics",
    "AsyncAnalytics",
    "Trending",
    "AsyncTrending",
    "__version__",
    "Limits",
    "AsyncLimits",
    "RateLimit",
    "Sessions",
    "AsyncSessions",
    "Session",
    "Flags",
    "AsyncFlags",
    "FlagState",
    "Chat",
    "AsyncChat",
    "ChatEntry",
    "ChatFollow",
    "AsyncChatFollow",
    "Activity",
    "AsyncActivity",
    "ActivityItem",
    "ActivityFollow",
    "AsyncActivityFollow",
]


def open(  # noqa: A001 - the name mirrors builtins.open on purpose: zerolag.open()
    url: str | None = None,
    *,
    root: str | os.PathLike[str] = ".",
    namespace: str = "default",
    archive: str | None = None,
    partitions: int | None = None,
) -> Hub:
    """Open a hub.

    ``url`` picks the store: ``None`` for the embedded SQLite store under ``<root>/.zerolag/``
    (no server; several processes on one machine may share it), ``redis://[user:pass@]host:port/db``,
    ``rediss://…`` for TLS, ``unix:///path/redis.sock``, or
    ``redis+cluster://host1:port1,host2:port2`` for a Redis Cluster. Options in the query string:
    ``timeout`` (seconds to wait for a reply, default 5), ``connect_timeout`` (default 2),
    ``retries`` (default 3), ``ping_interval`` (seconds a subscription waits on a silent
    server before it raises TimeoutError, default 15), ``wait_replicas`` and ``wait_timeout_ms``
    (each write returns once that many replicas have it, else raises TimeoutError; default
    1000 ms); ``sqlite://?timeout=`` for the
    embedded store (seconds a write waits for another process's write lock, default 10);
    ``sqlite:///path/file.db`` opens that database file, ``sqlite:///dir`` uses
    ``dir/.zerolag/zerolag.db``; ``memory://[name]`` keeps the embedded store in this
    process's memory, no file (hubs opened with the same name share it until the process
    exits; without a name, a fresh store that goes with its hub), for fast tests.
    A hub does not cross ``fork()``: open one in the child.

    ``namespace`` isolates everything the hub stores (letters, digits, ``_``, ``-``, ``.``).

    ``archive`` is a PostgreSQL DSN (``postgresql://user@host:port/db``): the hub attaches
    that long-term archive at once (``hub.archive.attach(archive)``, docs/archive.md). A
    server that cannot be reached does not fail the open: archiving catches up later.

    ``partitions`` spreads the namespace's jobs, bus and events over that many hash tags, so
    that on a Redis Cluster one namespace uses several masters (docs/scaling.md). None (the
    default) opens the namespace with the count it has (1 for a new one). A different count
    is refused with ValidationError once the namespace holds jobs, bus or events data.
    """
    hub = Hub(url, root=os.fspath(root), namespace=namespace, partitions=partitions)
    if archive is not None:
        try:
            hub.archive.attach(archive)
        except BaseException:
            hub.close()
            raise
    return hub


class _AsyncOpen:
    """What :func:`open_async` returns: await it, or use it with ``async with``."""

    def __init__(
        self,
        url: str | None,
        root: str,
        namespace: str,
        archive: str | None = None,
        partitions: int | None = None,
    ) -> None:
        self._args = (url, root, namespace, partitions)
        self._archive = archive
        self._hub: AsyncHub | None = None

    async def _connect(self) -> AsyncHub:
        url, root, namespace, partitions = self._args
        hub = await AsyncHub.connect(url, root=root, namespace=namespace, partitions=partitions)
        if self._archive is not None:
            try:
                await hub.archive.attach(self._archive)
            except BaseException:
                await hub.close()
                raise
        return hub

    def __await__(self) -> Generator[Any, None, AsyncHub]:
        return self._connect().__await__()

    async def __aenter__(self) -> AsyncHub:
        self._hub = await self._connect()
        return self._hub

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._hub is not None:
            await self._hub.close()


def open_async(
    url: str | None = None,
    *,
    root: str | os.PathLike[str] = ".",
    namespace: str = "default",
    archive: str | None = None,
    partitions: int | None = None,
) -> _AsyncOpen:
    """Open an :class:`AsyncHub`: ``hub = await zerolag.open_async(...)`` or
    ``async with zerolag.open_async(...) as hub:``. Same arguments as :func:`open`."""
    return _AsyncOpen(url, os.fspath(root), namespace, archive, partitions)
