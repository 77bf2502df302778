"""``hub.events``: the asyncio side (the sync classes are native: :class:`zerolag.Events` and
:class:`zerolag.Subscription`).

Events live in a bounded durable log per namespace and are pushed live to subscribers. Keep
the ``id`` of the last event you handled and pass it as ``after`` when you subscribe again:
you get everything published since that the log still holds.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from ._core import Event, _AsyncEvents
from .exceptions import ConnectionError, TimeoutError

__all__ = ["AsyncEvents", "AsyncSubscription"]

_PAGE = 256
_SLICE = 1.0  # seconds one native wait lasts; cancellation is immediate regardless
_OUTAGE_BUDGET = 60.0  # seconds a subscription retries an unreachable store before raising
_RECONNECT_PAUSE = 0.1


class AsyncSubscription:
    """Events of some channels as they come: ``async for ev in hub.events.subscribe("task:*")``.

    Without ``after`` it starts at the end of the log when first used (``async with`` or the
    first ``get``/``__anext__``); events published before that are not delivered.
    """

    __slots__ = ("_n", "_patterns", "_cursor", "_buffer", "_last_id", "_closed", "_started")

    def __init__(self, native: _AsyncEvents, patterns: tuple[str, ...], after: str | None) -> None:
        self._n = native
        self._patterns = list(patterns)
        self._cursor = after
        self._started = after is not None
        self._buffer: list[Event] = []
        self._last_id: str | None = None
        self._closed = False

    @property
    def last_id(self) -> str | None:
        """Id of the last event handed out (pass it as ``after`` to resume), or None."""
        return self._last_id

    @property
    def patterns(self) -> list[str]:
        return list(self._patterns)

    async def _start(self) -> None:
        if not self._started:
            self._cursor = await self._n.last_id()
            self._started = True

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` seconds (None: wait as long as it takes)."""
        await self._start()
        outage: float | None = None
        loop_time: float | None = None
        if timeout is not None:
            loop_time = asyncio.get_running_loop().time() + timeout
        while not self._closed:
            if self._buffer:
                ev = self._buffer.pop(0)
                self._last_id = ev.id
                return ev
            block = _SLICE
            if loop_time is not None:
                block = max(0.0, min(_SLICE, loop_time - asyncio.get_running_loop().time()))
            try:
                events, self._cursor = await self._n._poll(
                    self._patterns, self._cursor, _PAGE, block
                )
            except (ConnectionError, TimeoutError):
                # Ride out a restart or a dropped connection: the next read starts from the
                # same cursor, so nothing is skipped.
                now = asyncio.get_running_loop().time()
                if outage is None:
                    outage = now
                if now - outage >= _OUTAGE_BUDGET:
                    raise
                await asyncio.sleep(_RECONNECT_PAUSE)
                continue
            outage = None
            self._buffer.extend(events)
            if (
                not self._buffer
                and loop_time is not None
                and asyncio.get_running_loop().time() >= loop_time
            ):
                return None
        return None

    def __aiter__(self) -> AsyncSubscription:
        return self

    async def __anext__(self) -> Event:
        ev = await self.get()
        if ev is None:
            raise StopAsyncIteration
        return ev

    async def aclose(self) -> None:
        """Stops the iteration."""
        self._closed = True
        self._buffer.clear()

    async def __aenter__(self) -> AsyncSubscription:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        closed = ", closed" if self._closed else ""
        return f"AsyncSubscription(patterns={self._patterns!r}, last_id={self._last_id!r}{closed})"


class AsyncEvents:
    """``hub.events`` of an :class:`zerolag.AsyncHub`: the operations of
    :class:`zerolag.Events` as coroutines, and :meth:`subscribe` as an async iterator."""

    __slots__ = ("_n",)

    def __init__(self, native: _AsyncEvents) -> None:
        self._n = native

    async def publish(self, channel: str, data: Any) -> Event:
        """See :meth:`zerolag.Events.publish`."""
        return await self._n.publish(channel, data)

    async def read(self, *patterns: str, after: str | None = None, limit: int = 100) -> list[Event]:
        """See :meth:`zerolag.Events.read`."""
        return await self._n.read(*patterns, after=after, limit=limit)

    async def last_id(self) -> str:
        """See :meth:`zerolag.Events.last_id`."""
        return await self._n.last_id()

    def subscribe(self, *patterns: str, after: str | None = None) -> AsyncSubscription:
        """Events on channels matching ``patterns`` (all channels if none), as an async
        iterator; ``after`` an event id to resume after (``"0"``: from the oldest retained)."""
        return AsyncSubscription(self._n, patterns, after)

    async def set_retention(self, *, max_len: int = 10_000, max_age: float | None = None) -> None:
        """See :meth:`zerolag.Events.set_retention`."""
        await self._n.set_retention(max_len=max_len, max_age=max_age)

    async def retention(self) -> dict[str, float | None]:
        """See :meth:`zerolag.Events.retention`."""
        return await self._n.retention()

    async def count(self) -> int:
        """See :meth:`zerolag.Events.count`."""
        return await self._n.count()

    def __repr__(self) -> str:
        return repr(self._n).replace("_AsyncEvents", "AsyncEvents")
