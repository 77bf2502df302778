"""``hub.docs``: the asyncio side (the sync class is native: :class:`zerolag.Docs`).

Documents are YAML or JSON texts kept in the store under their file path
(``contexts/app/brief.yaml``), with their parsed value, version, content hash, origin and
times. Writes through this API queue the file for write-back by the file sync.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from ._core import Document, _AsyncDocs

__all__ = ["AsyncDocs"]


class AsyncDocs:
    """``hub.docs`` of an async hub: the methods of :class:`zerolag.Docs` as coroutines."""

    __slots__ = ("_n",)

    def __init__(self, native: _AsyncDocs) -> None:
        self._n = native

    def __repr__(self) -> str:
        return repr(self._n)

    def configure(
        self, *, roots: Iterable[str] | None = None, max_bytes: int | None = None
    ) -> tuple[builtins.list[str], int]:
        """See :meth:`zerolag.Docs.configure` (takes effect at once; not a coroutine)."""
        return self._n.configure(roots=roots, max_bytes=max_bytes)

    async def get(self, path: str) -> Document:
        """See :meth:`zerolag.Docs.get`."""
        return await self._n.get(path)

    async def put(self, path: str, value: Any, *, expected_version: int | None = None) -> Document:
        """See :meth:`zerolag.Docs.put`."""
        return await self._n.put(path, value, expected_version=expected_version)

    async def put_text(
        self, path: str, text: str | bytes, *, expected_version: int | None = None
    ) -> Document:
        """See :meth:`zerolag.Docs.put_text`."""
        return await self._n.put_text(path, text, expected_version=expected_version)

    async def merge(self, path: str, updates: dict[str, Any]) -> Document:
        """See :meth:`zerolag.Docs.merge`."""
        return await self._n.merge(path, updates)

    async def delete(self, path: str) -> bool:
        """See :meth:`zerolag.Docs.delete`."""
        return await self._n.delete(path)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        """See :meth:`zerolag.Docs.list`."""
        return await self._n.list(prefix)

    async def pending_writeback(self, limit: int = 1000) -> builtins.list[str]:
        """See :meth:`zerolag.Docs.pending_writeback`."""
        return await self._n.pending_writeback(limit)
