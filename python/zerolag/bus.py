"""``hub.bus``: the asyncio wrapper (the sync class is native: :class:`zerolag.Bus`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from ._core import BusStats, DeadLetter, Delivery, Message, _AsyncBus

__all__ = ["AsyncBus"]

_Priority = Literal["critical", "high", "medium", "low"]


class AsyncBus:
    """``hub.bus`` of an :class:`zerolag.AsyncHub`: the operations of :class:`zerolag.Bus`
    as coroutines."""

    __slots__ = ("_n",)

    def __init__(self, native: _AsyncBus) -> None:
        self._n = native

    def configure(
        self,
        *,
        max_len: int | None = None,
        max_age: float | None = None,
        max_payload: int | None = None,
    ) -> dict[str, Any]:
        """See :meth:`zerolag.Bus.configure` (takes effect at once; not a coroutine)."""
        return dict(self._n.configure(max_len=max_len, max_age=max_age, max_payload=max_payload))

    async def register(self, agent: str, *, kinds: Iterable[str] | None = None) -> bool:
        """See :meth:`zerolag.Bus.register`."""
        return await self._n.register(agent, kinds=kinds)

    async def agents(self) -> dict[str, list[str]]:
        """See :meth:`zerolag.Bus.agents`."""
        return await self._n.agents()

    async def share(
        self,
        source: str,
        target: str | None,
        payload: Any,
        *,
        priority: _Priority = "medium",
        kind: str | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """See :meth:`zerolag.Bus.share`."""
        return await self._n.share(
            source, target, payload, priority=priority, kind=kind, idempotency_key=idempotency_key
        )

    async def share_many(self, messages: Iterable[Mapping[str, Any]]) -> list[Message]:
        """See :meth:`zerolag.Bus.share_many`."""
        return await self._n.share_many(messages)

    async def broadcast(
        self,
        source: str,
        payload: Any,
        *,
        priority: _Priority = "medium",
        kind: str | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """See :meth:`zerolag.Bus.broadcast`."""
        return await self._n.broadcast(
            source, payload, priority=priority, kind=kind, idempotency_key=idempotency_key
        )

    async def pending(self, agent: str, count: int = 10) -> list[Message]:
        """See :meth:`zerolag.Bus.pending`."""
        return await self._n.pending(agent, count)

    async def ack(
        self,
        agent: str,
        message_id: str | Message | Delivery,
        *,
        group: str | None = None,
        consumer: str | None = None,
    ) -> bool:
        """See :meth:`zerolag.Bus.ack`."""
        return await self._n.ack(agent, message_id, group=group, consumer=consumer)

    async def ack_many(
        self,
        agent: str,
        message_ids: Iterable[str | Message | Delivery],
        *,
        group: str | None = None,
        consumer: str | None = None,
    ) -> int:
        """See :meth:`zerolag.Bus.ack_many`."""
        return await self._n.ack_many(agent, message_ids, group=group, consumer=consumer)

    async def is_acked(self, message_id: str | Message | Delivery) -> bool:
        """See :meth:`zerolag.Bus.is_acked`."""
        return await self._n.is_acked(message_id)

    async def history(self, agent_a: str, agent_b: str, limit: int = 50) -> list[Message]:
        """See :meth:`zerolag.Bus.history`."""
        return await self._n.history(agent_a, agent_b, limit)

    async def stats(self) -> BusStats:
        """See :meth:`zerolag.Bus.stats`."""
        return await self._n.stats()

    async def cleanup(self, older_than: float) -> int:
        """See :meth:`zerolag.Bus.cleanup`."""
        return await self._n.cleanup(older_than)

    async def clear(self) -> int:
        """See :meth:`zerolag.Bus.clear`."""
        return await self._n.clear()

    async def consume(
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
        """See :meth:`zerolag.Bus.consume` (waits without blocking the event loop)."""
        return await self._n.consume(
            agent,
            group=group,
            consumer=consumer,
            count=count,
            block_ms=block_ms,
            claim_idle_ms=claim_idle_ms,
            max_deliveries=max_deliveries,
        )

    async def dead_letters(self, agent: str | None = None, count: int = 100) -> list[DeadLetter]:
        """See :meth:`zerolag.Bus.dead_letters`."""
        return await self._n.dead_letters(agent, count)

    async def requeue(
        self, message_ids: Iterable[str | DeadLetter] | None = None, *, agent: str | None = None
    ) -> int:
        """See :meth:`zerolag.Bus.requeue`."""
        return await self._n.requeue(message_ids, agent=agent)

    def __repr__(self) -> str:
        return repr(self._n).replace("_AsyncBus", "AsyncBus")
