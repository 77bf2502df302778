"""``hub.jobs``: the asyncio wrapper (the sync class is native: :class:`zerolag.Jobs`)."""

from __future__ import annotations

from ._core import _AsyncJobs

__all__ = ["AsyncJobs"]


class AsyncJobs:
    """``hub.jobs`` of an :class:`zerolag.AsyncHub`: the operations of :class:`zerolag.Jobs`
    as coroutines."""

    __slots__ = ("_n",)

    def __init__(self, native: _AsyncJobs) -> None:
        self._n = native

    def __repr__(self) -> str:
        return repr(self._n).replace("_AsyncJobs", "AsyncJobs")
