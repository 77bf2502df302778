"""Batched calls to an external MCP server's tools, for backend handlers
(``pip install zerolag[mcp]``; import from :mod:`zerolag.integrations.mcp`).

A handler that calls tools one at a time waits one round trip per call; many handlers calling
at once would each drive the server on their own. :class:`MCPBatcher` queues the calls of every
caller on one client session and sends them in batches: a batch leaves when it holds
``max_batch`` calls (default 10) or ``max_delay`` seconds (default 0.1) after its first call
was queued, whichever comes first, and its calls run concurrently on the session (MCP has no
batch request: a batch is that many requests in flight at once). Each caller gets its own
call's result, or its own error::

    async with mcp.Client("http://tools.internal/mcp") as client:
        async with MCPBatcher(client) as batcher:
            result = await batcher.call("search", {"q": "refund policy"})

The queue is bounded (``max_queue`` calls waiting for a batch, default 1,000): when it is full,
``call`` waits for room (back-pressure) instead of growing memory. One batch runs at a time,
so at most ``max_batch`` calls are in flight on the session. :meth:`MCPBatcher.close` (or
leaving ``async with``) sends what is queued at once, waits for it, and refuses later calls
with :class:`zerolag.ClosedError` (as it does calls still waiting for room). For asyncio.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

try:
    from mcp.types import CallToolResult, TextContent
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("zerolag's MCP batcher needs the mcp SDK: pip install 'zerolag[mcp]'") from e

from .exceptions import ClosedError, ZerolagError

__all__ = ["MCPBatcher", "MCPToolError", "ToolCaller"]


class ToolCaller(Protocol):
    """What a batcher calls tools on: ``mcp.Client`` or ``mcp.ClientSession``."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> CallToolResult: ...


class MCPToolError(ZerolagError):
    """The tool ran and reported an error (``isError`` in its result): :attr:`tool` is its
    name, :attr:`result` the ``CallToolResult``; the message is the result's text."""

    def __init__(self, tool: str, result: CallToolResult) -> None:
        text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
        super().__init__(f"{tool}: {text or 'tool error'}")
        self.tool = tool
        self.result = result


@dataclass
class _Call:
    tool: str
    arguments: dict[str, Any]
    future: asyncio.Future[CallToolResult]
    queued: float


@dataclass
class BatchStats:
    """Counts since the batcher was made: calls sent, batches sent, the largest batch."""

    calls: int = 0
    batches: int = 0
    largest: int = 0
    sizes: collections.Counter[int] = field(default_factory=collections.Counter)


class MCPBatcher:
    """Queues tool calls for ``session`` and sends them in batches (see the module docs).

    ``max_batch``: calls per batch (1..1000); ``max_delay``: seconds the first call of a batch
    waits for others; ``max_queue``: calls that may wait for a batch before ``call`` blocks.
    """

    def __init__(
        self,
        session: ToolCaller,
        *,
        max_batch: int = 10,
        max_delay: float = 0.1,
        max_queue: int = 1000,
    ) -> None:
        if not 1 <= max_batch <= 1000:
            raise ValueError(f"max_batch must be 1..1000, got {max_batch}")
        if not 0 <= max_delay <= 60:
            raise ValueError(f"max_delay must be 0..60 seconds, got {max_delay}")
        if max_queue < max_batch:
            raise ValueError(f"max_queue ({max_queue}) must be at least max_batch ({max_batch})")
        self.session = session
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.max_queue = max_queue
        self.stats = BatchStats()
        self._queue: collections.deque[_Call] = collections.deque()
        self._room: asyncio.Semaphore | None = None
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def queued(self) -> int:
        """Calls waiting for a batch now."""
        return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._closing

    async def call(self, tool: str, arguments: Mapping[str, Any] | None = None) -> CallToolResult:
        """Queues a call of ``tool`` and returns its result once its batch ran. Raises
        :class:`MCPToolError` if the tool reported an error, the client's exception if the
        request failed (``mcp.MCPError``, a broken connection, ...), ClosedError after
        :meth:`close`. Waits for room while the queue is full."""
        if self._closing:
            raise ClosedError("the MCP batcher is closed")
        room, wake = self._start()
        await room.acquire()
        if self._closing:
            room.release()
            raise ClosedError("the MCP batcher is closed")
        loop = asyncio.get_running_loop()
        call = _Call(tool, dict(arguments or {}), loop.create_future(), loop.time())
        self._queue.append(call)
        wake.set()
        # Cancelling the caller cancels the future: a batch skips it if it has not left yet.
        return await call.future

    async def close(self) -> None:
        """Sends what is queued without waiting for the timer, waits for every call to finish,
        and refuses calls from then on. Idempotent."""
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        if self._runner is not None:
            await asyncio.shield(self._runner)

    async def __aenter__(self) -> MCPBatcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ---- the runner ----------------------------------------------------------------------

    def _start(self) -> tuple[asyncio.Semaphore, asyncio.Event]:
        """The queue's primitives and its runner task, made on first use (in the caller's
        event loop)."""
        if self._room is None or self._wake is None:
            self._room = asyncio.Semaphore(self.max_queue)
            self._wake = asyncio.Event()
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(
                self._run(self._room, self._wake), name="zerolag-mcp-batcher"
            )
        return self._room, self._wake

    async def _run(self, room: asyncio.Semaphore, wake: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._queue:
                if self._closing:
                    return
                wake.clear()
                await wake.wait()
            deadline = self._queue[0].queued + self.max_delay
            while len(self._queue) < self.max_batch and not self._closing:
                left = deadline - loop.time()
                if left <= 0:
                    break
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), left)
                except asyncio.TimeoutError:
                    break
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            for _ in batch:
                room.release()
            live = [c for c in batch if not c.future.done()]
            if live:
                self.stats.calls += len(live)
                self.stats.batches += 1
                self.stats.largest = max(self.stats.largest, len(live))
                self.stats.sizes[len(live)] += 1
                await asyncio.gather(*(self._one(c) for c in live))

    async def _one(self, call: _Call) -> None:
        """Runs one call and settles its future; never raises (a caller's error is its own)."""
        try:
            result = await self.session.call_tool(call.tool, call.arguments)
        except asyncio.CancelledError:
            if not call.future.done():
                call.future.cancel()
            raise
        except Exception as e:
            if not call.future.done():
                call.future.set_exception(e)
            return
        if call.future.done():  # the caller gave up meanwhile
            return
        if result.is_error:
            call.future.set_exception(MCPToolError(call.tool, result))
        else:
            call.future.set_result(result)
