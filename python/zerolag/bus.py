"""``hub.bus``: the asyncio wrapper (the sync class is native: :class:`zerolag.Bus`)."""

from __future__ import annotations

from ._core import _AsyncBus

__all__ = ["AsyncBus"]


class AsyncBus:
    """``hub.bus`` of an :class:`zerolag.AsyncHub`: the operations of :class:`zerolag.Bus`
    as coroutines."""

    __slots__ = ("_n",)

    def __init__(self, native: _AsyncBus) -> None:
        self._n = native

    def __repr__(self) -> str:
        return repr(self._n).replace("_AsyncBus", "AsyncBus")
