"""``hub.events``: the asyncio wrapper (the sync class is native: :class:`zerolag.Events`)."""

from __future__ import annotations

from ._core import _AsyncEvents

__all__ = ["AsyncEvents"]


class AsyncEvents:
    """``hub.events`` of an :class:`zerolag.AsyncHub`: the operations of :class:`zerolag.Events`
    as coroutines."""

    __slots__ = ("_n",)

    def __init__(self, native: _AsyncEvents) -> None:
        self._n = native

    def __repr__(self) -> str:
        return repr(self._n).replace("_AsyncEvents", "AsyncEvents")
