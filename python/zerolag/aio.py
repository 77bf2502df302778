"""The asyncio API: :class:`AsyncHub` and its capabilities, as real coroutines.

Each method is a thin ``async def`` over the native awaitable, so calling it never needs a
running event loop (``asyncio.run(hub.health())`` works) and the work starts when awaited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

from ._core import Health, SearchPage, Sync, Task, _AsyncHub, _AsyncTasks
from .bus import AsyncBus
from .docs import AsyncDocs
from .events import AsyncEvents
from .jobs import AsyncJobs
from .patterns import AsyncPatterns

__all__ = ["AsyncHub", "AsyncTasks"]


class AsyncTasks:
    """``hub.tasks`` of an :class:`AsyncHub`: the operations of :class:`zerolag.Tasks` as
    coroutines."""

    __slots__ = ("_t",)

    def __init__(self, native: _AsyncTasks) -> None:
        self._t = native

    async def create(self, title: str, **fields: Any) -> Task:
        """See :meth:`zerolag.Tasks.create`."""
        return await self._t.create(title, **fields)

    async def create_many(self, items: Iterable[Mapping[str, Any] | Task]) -> list[Task]:
        """See :meth:`zerolag.Tasks.create_many`."""
        return await self._t.create_many(items)

    async def get(self, id: str) -> Task:
        """See :meth:`zerolag.Tasks.get`."""
        return await self._t.get(id)

    async def get_many(self, ids: Iterable[str]) -> list[Task | None]:
        """See :meth:`zerolag.Tasks.get_many`."""
        return await self._t.get_many(ids)

    async def update(self, id: str, *, if_version: int | None = None, **fields: Any) -> Task:
        """See :meth:`zerolag.Tasks.update`."""
        return await self._t.update(id, if_version=if_version, **fields)

    async def delete(self, id: str) -> bool:
        """See :meth:`zerolag.Tasks.delete`."""
        return await self._t.delete(id)

    async def apply_handoff(self, handoff: Mapping[str, Any]) -> Task:
        """See :meth:`zerolag.Tasks.apply_handoff`."""
        return await self._t.apply_handoff(handoff)

    async def search(
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
        order: Literal["confidence", "recent"] = "confidence",
        limit: int = 20,
        cursor: str | None = None,
    ) -> SearchPage:
        """See :meth:`zerolag.Tasks.search`."""
        return await self._t.search(
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

    async def related(self, id: str) -> list[Task]:
        """See :meth:`zerolag.Tasks.related`."""
        return await self._t.related(id)

    async def count(self) -> int:
        """See :meth:`zerolag.Tasks.count`."""
        return await self._t.count()

    async def _dump_index(self) -> list[tuple[str, str, str]]:
        return await self._t._dump_index()

    def __repr__(self) -> str:
        return repr(self._t).replace("_AsyncTasks", "AsyncTasks")


class AsyncHub:
    """One handle on a store and a namespace, for asyncio code. Open it with
    :func:`zerolag.open_async`; the operations are those of :class:`zerolag.Hub`."""

    __slots__ = ("_h", "_tasks")

    def __init__(self, native: _AsyncHub) -> None:
        self._h = native
        self._tasks: AsyncTasks | None = None

    @classmethod
    async def connect(
        cls, url: str | None = None, *, root: str = ".", namespace: str = "default"
    ) -> AsyncHub:
        """Connect and return the hub."""
        native: _AsyncHub = await _AsyncHub.connect(url, root=root, namespace=namespace)
        return cls(native)

    @property
    def backend(self) -> str:
        """``"embedded"``, ``"redis"`` or ``"redis-cluster"``."""
        return self._h.backend

    @property
    def namespace(self) -> str:
        return self._h.namespace

    @property
    def url(self) -> str | None:
        return self._h.url

    @property
    def closed(self) -> bool:
        return self._h.closed

    @property
    def bus(self) -> AsyncBus:
        """The agent bus of this namespace."""
        return AsyncBus(self._h.bus)

    @property
    def sync(self) -> Sync:
        """The file sync of this hub (start/stop/status return at once)."""
        return self._h.sync

    @property
    def docs(self) -> AsyncDocs:
        """The YAML and JSON documents of this namespace."""
        return AsyncDocs(self._h.docs)

    @property
    def events(self) -> AsyncEvents:
        """The event log and live events of this namespace."""
        return AsyncEvents(self._h.events)

    @property
    def jobs(self) -> AsyncJobs:
        """The job queue of this namespace."""
        return AsyncJobs(self._h.jobs)

    @property
    def patterns(self) -> AsyncPatterns:
        """The pattern memory of this namespace."""
        return AsyncPatterns(self._h.patterns)

    @property
    def tasks(self) -> AsyncTasks:
        """The task index of this namespace."""
        if self._tasks is None or self._h.closed:
            self._tasks = AsyncTasks(self._h.tasks)
        return self._tasks

    async def health(self) -> Health:
        """Backend, server version, round-trip time and size of the namespace."""
        return await self._h.health()

    async def clear(self) -> int:
        """Delete everything this namespace holds; returns keys/rows removed."""
        return await self._h.clear()

    async def close(self) -> None:
        """Close the hub; later calls raise ClosedError."""
        await self._h.close()

    async def __aenter__(self) -> AsyncHub:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return repr(self._h).replace("_AsyncHub", "AsyncHub")
