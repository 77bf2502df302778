"""``hub.patterns``: pattern memory for learning agents (issue 6).

The sync class is native (:class:`zerolag.Patterns`); :class:`AsyncPatterns` wraps the native
awaitables as coroutines. :func:`create_pattern_memory` is the one-line factory: it opens a
hub of its own and returns its pattern memory, closing the hub when used as a context manager::

    with zerolag.create_pattern_memory("redis://localhost:6379", ttl=30 * 86400) as memory:
        memory.track_issue("acme/api", "E501", file="app.py", severity="warning")
        print(memory.insights("acme/api"))

``memory`` is the hub's :class:`zerolag.Patterns`; closing it closes the hub.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._core import (
    Acceptance,
    FixOutcome,
    Hub,
    Insights,
    IssueStat,
    LearningSession,
    Pattern,
    PatternHealth,
    Patterns,
    _AsyncPatterns,
)

if TYPE_CHECKING:  # stub-only types
    from ._core import _PatternExport, _PatternSettings

__all__ = ["AsyncPatterns", "create_pattern_memory"]


class AsyncPatterns:
    """``hub.patterns`` of an :class:`zerolag.AsyncHub`: the operations of
    :class:`zerolag.Patterns` as coroutines."""

    __slots__ = ("_n",)

    def __init__(self, native: _AsyncPatterns) -> None:
        self._n = native

    def configure(
        self,
        *,
        ttl: float | None = None,
        max_fixes: int | None = None,
        max_sessions: int | None = None,
        max_payload: int | None = None,
        anonymize: bool | None = None,
        disable: Sequence[str] | None = None,
        rules: Mapping[str, str] | None = None,
        key: bytes | None = None,
    ) -> _PatternSettings:
        """See :meth:`zerolag.Patterns.configure` (not a coroutine: it only changes this handle)."""
        return self._n.configure(
            ttl=ttl,
            max_fixes=max_fixes,
            max_sessions=max_sessions,
            max_payload=max_payload,
            anonymize=anonymize,
            disable=disable,
            rules=dict(rules) if rules is not None else None,
            key=key,
        )

    async def store(self, repo: str, type: str, data: Any, *, confidence: float = 0.5) -> Pattern:
        """See :meth:`zerolag.Patterns.store`."""
        return await self._n.store(repo, type, data, confidence=confidence)

    async def get(
        self,
        repo: str,
        type: str | None = None,
        *,
        min_confidence: float = 0.0,
        limit: int = 50,
    ) -> list[Pattern]:
        """See :meth:`zerolag.Patterns.get`."""
        return await self._n.get(repo, type, min_confidence=min_confidence, limit=limit)

    async def pattern(self, id: str) -> Pattern:
        """See :meth:`zerolag.Patterns.pattern`."""
        return await self._n.pattern(id)

    async def update(
        self,
        id: str,
        *,
        confidence: float | None = None,
        data: Any = None,
        observe: bool = True,
    ) -> Pattern:
        """See :meth:`zerolag.Patterns.update`."""
        return await self._n.update(id, confidence=confidence, data=data, observe=observe)

    async def delete(self, id: str) -> bool:
        """See :meth:`zerolag.Patterns.delete`."""
        return await self._n.delete(id)

    async def track_issue(
        self,
        repo: str,
        rule_id: str,
        *,
        file: str = "",
        severity: str = "warning",
        message: str = "",
        at: float | None = None,
    ) -> IssueStat:
        """See :meth:`zerolag.Patterns.track_issue`."""
        return await self._n.track_issue(
            repo, rule_id, file=file, severity=severity, message=message, at=at
        )

    async def top_issues(
        self, repo: str, *, limit: int = 10, since: float | None = None
    ) -> list[IssueStat]:
        """See :meth:`zerolag.Patterns.top_issues`."""
        return await self._n.top_issues(repo, limit=limit, since=since)

    async def record_fix(
        self,
        repo: str,
        rule_id: str,
        *,
        fix: str,
        accepted: bool,
        feedback: str | None = None,
        at: float | None = None,
    ) -> FixOutcome:
        """See :meth:`zerolag.Patterns.record_fix`."""
        return await self._n.record_fix(
            repo, rule_id, fix=fix, accepted=accepted, feedback=feedback, at=at
        )

    async def fixes(
        self, repo: str, *, rule_id: str | None = None, limit: int = 100
    ) -> list[FixOutcome]:
        """See :meth:`zerolag.Patterns.fixes`."""
        return await self._n.fixes(repo, rule_id=rule_id, limit=limit)

    async def acceptance(self, repo: str) -> dict[str, Acceptance]:
        """See :meth:`zerolag.Patterns.acceptance`."""
        return await self._n.acceptance(repo)

    async def record_session(
        self, repo: str, summary: Any, *, at: float | None = None
    ) -> LearningSession:
        """See :meth:`zerolag.Patterns.record_session`."""
        return await self._n.record_session(repo, summary, at=at)

    async def sessions(self, repo: str, *, limit: int = 50) -> list[LearningSession]:
        """See :meth:`zerolag.Patterns.sessions`."""
        return await self._n.sessions(repo, limit=limit)

    async def insights(self, repo: str, *, limit: int = 10, window_days: int = 7) -> Insights:
        """See :meth:`zerolag.Patterns.insights`."""
        return await self._n.insights(repo, limit=limit, window_days=window_days)

    async def health(self) -> PatternHealth:
        """See :meth:`zerolag.Patterns.health`."""
        return await self._n.health()

    async def cleanup(self) -> int:
        """See :meth:`zerolag.Patterns.cleanup`."""
        return await self._n.cleanup()

    async def export(self, repo: str) -> _PatternExport:
        """See :meth:`zerolag.Patterns.export`."""
        return await self._n.export(repo)

    async def import_(self, data: Mapping[str, Any], *, repo: str | None = None) -> int:
        """See :meth:`zerolag.Patterns.import_`."""
        return await self._n.import_(data, repo=repo)

    async def clear(self) -> int:
        """See :meth:`zerolag.Patterns.clear`."""
        return await self._n.clear()

    def __repr__(self) -> str:
        return repr(self._n).replace("_AsyncPatterns", "AsyncPatterns")


def create_pattern_memory(
    url: str | None = None,
    *,
    root: str | os.PathLike[str] = ".",
    namespace: str = "default",
    ttl: float | None = None,
    max_fixes: int | None = None,
    max_sessions: int | None = None,
    max_payload: int | None = None,
    anonymize: bool | None = None,
    disable: Sequence[str] | None = None,
    rules: Mapping[str, str] | None = None,
    key: bytes | None = None,
) -> Patterns:
    """Open a hub on ``url`` (None: the embedded store under ``root``; see :func:`zerolag.open`)
    and return its pattern memory, configured with the options of
    :meth:`zerolag.Patterns.configure` (``ttl`` in seconds, default 90 days). The memory owns
    the hub: ``memory.close()``, or ``with create_pattern_memory(...) as memory:``, closes it."""
    hub = Hub(url, root=os.fspath(root), namespace=namespace)
    try:
        hub.patterns.configure(
            ttl=ttl,
            max_fixes=max_fixes,
            max_sessions=max_sessions,
            max_payload=max_payload,
            anonymize=anonymize,
            disable=disable,
            rules=dict(rules) if rules is not None else None,
            key=key,
        )
    except BaseException:
        hub.close()
        raise
    return hub.patterns
