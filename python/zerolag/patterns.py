"""``hub.patterns``: pattern memory for learning agents.

The classes are native (:class:`zerolag.Patterns`, :class:`zerolag.AsyncPatterns`).
:func:`create_pattern_memory` is the one-line factory: it opens a
hub of its own and returns its pattern memory, closing the hub when used as a context manager::

    with zerolag.create_pattern_memory("redis://localhost:6379", ttl=30 * 86400) as memory:
        memory.track_issue("acme/api", "E501", file="app.py", severity="warning")
        print(memory.insights("acme/api"))

``memory`` is the hub's :class:`zerolag.Patterns`; closing it closes the hub.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ._core import (
    Hub,
    Patterns,
)

__all__ = ["create_pattern_memory"]


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
