"""How a :class:`zerolag.DualLoop` uses ``hub.memory``: the built-in ``ms`` and ``cl``
handlers, and the relevant memories in the frontend prompt.

::

    loop = zerolag.DualLoop(hub, frontend, memory=zerolag.LoopMemory(prompt_k=5))

With ``memory`` given, the loop registers two built-in handlers (registering your own for the
kind afterwards replaces them):

* ``ms:{key}|{value}|{type}`` -> :func:`store_memory`: ``hub.memory.remember(key, value)`` in
  the session's scope; a ``type`` of ``semantic``, ``episodic`` or ``procedural`` is the
  record's kind, any other word its category (kind ``semantic``). A new value of a key
  starts a new version and ends the one before (``hub.memory.recall(key, as_of=...)`` still
  finds it). A retried job does not write the version twice.
* ``cl:{context_id}|{depth}`` -> :func:`load_context`: the memory whose key is the context
  id, then the session's memories found by searching for the context (its words, and the
  graph around it when it is an entity id); the ``cl`` event's summary lists them.
  ``depth``: a number of memories, or ``summary`` (3), ``full`` (4 x ``context_k``),
  anything else ``context_k``.

``prompt_k`` above 0 puts the best ``prompt_k`` memories for each user message into the
frontend prompt (section ``# Relevant memories``, within the budget's ``memories`` share; off
by default: it costs one search per ``send``, a few hundred microseconds on the embedded
store; if the store cannot be reached the prompt goes without them).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._core import MemoryHit, MemoryRecord
from .exceptions import ValidationError

if TYPE_CHECKING:
    from .loop import DualLoop
    from .loop_backend import CommandContext

__all__ = ["LoopMemory", "load_context", "memory_line", "search_memories", "store_memory"]

KINDS = ("semantic", "episodic", "procedural")
_ENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}")
_LINE_CHARS = 240

_Scope = Mapping[str, str]


@dataclass(frozen=True)
class LoopMemory:
    """How a :class:`zerolag.DualLoop` reads and writes ``hub.memory`` (module docs).

    ``scope``: whose memories a session sees and writes: ``"session"`` (default: each
    session its own, ``{"session": <session>}``), a fixed mapping such as ``{"user":
    "u1"}``, a callable ``session -> mapping or None``, or None for the global scope.
    ``embedder``: ``texts -> 2-D array`` (e.g. :class:`zerolag.embed.HashingEmbedder`); with
    one, memories are stored with an embedding in vector space ``space`` (declared on first
    use, cosine) and searched by it as well as by keywords. ``prompt_k``: memories put in the
    frontend prompt per message (0: none). ``context_k``: memories a ``cl`` load returns by
    default.
    """

    scope: Literal["session"] | _Scope | Callable[[str], _Scope | None] | None = "session"
    embedder: Callable[[Sequence[str]], Any] | None = None
    space: str = "default"
    prompt_k: int = 0
    context_k: int = 8

    def __post_init__(self) -> None:
        for name in ("prompt_k", "context_k"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 100:
                raise ValidationError(f"LoopMemory.{name} must be an int from 0 to 100, not {v!r}")
        if self.embedder is not None and not callable(self.embedder):
            raise ValidationError("LoopMemory.embedder must be callable: texts -> array")
        s = self.scope
        if not (s is None or s == "session" or isinstance(s, Mapping) or callable(s)):
            raise ValidationError(
                "LoopMemory.scope is 'session', a mapping, a callable or None, "
                f"not {type(s).__name__}"
            )

    def scope_of(self, session: str) -> dict[str, str] | None:
        """The memory scope of ``session``."""
        s = self.scope
        if s is None:
            return None
        if isinstance(s, str):
            return {"session": session}
        if isinstance(s, Mapping):
            return dict(s)
        got = s(session)
        return None if got is None else dict(got)


def _embed(loop: DualLoop, text: str) -> Any:
    """The embedding of ``text`` under the loop's memory options (None without an embedder);
    declares the vector space on the loop's hub the first time."""
    opts = loop.memory
    if opts is None or opts.embedder is None:
        return None
    row = opts.embedder([text])[0]
    if opts.space not in loop._memory_spaces:
        loop.hub.memory.space(opts.space, len(row))
        loop._memory_spaces.add(opts.space)
    return row


def search_memories(
    loop: DualLoop, session: str, text: str | None, *, k: int, around: str | None = None
) -> list[MemoryHit]:
    """The best ``k`` memories of ``session``'s scope for ``text`` (keywords, and the
    embedding when the loop has an embedder) and around entity ``around``."""
    opts = loop.memory or LoopMemory()
    has_text = bool(text and text.strip())
    if k <= 0 or (not has_text and around is None):
        return []
    return loop.hub.memory.search(
        text=text if has_text else None,
        embedding=_embed(loop, text) if has_text and text else None,
        space=opts.space,
        scope=opts.scope_of(session),
        around=around,
        k=k,
    )


def value_text(value: Any) -> str:
    """A memory's value as one line of text."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return " ".join(text.split())


def memory_line(record: MemoryRecord) -> str:
    """``key: value (since YYYY-MM-DD)``, at most 240 characters: how a memory appears in a
    prompt or a ``cl`` summary."""
    since = time.strftime("%Y-%m-%d", time.gmtime(record.valid_from))
    text = value_text(record.value)
    head = f"{record.key}: "
    tail = f" (since {since})"
    room = _LINE_CHARS - len(head) - len(tail)
    if len(text) > room:
        text = text[: max(0, room - 1)] + "…"
    return head + text + tail


def store_memory(cmd: Any, ctx: CommandContext) -> dict[str, Any]:
    """The built-in ``ms`` handler (module docs). Returns ``{"stored": key, "version": n,
    "kind": ..., "category": ...}`` as the ``tc`` event's result."""
    opts = ctx.loop.memory or LoopMemory()
    hub = ctx.hub
    scope = opts.scope_of(ctx.session)
    kind, category = (cmd.type, None) if cmd.type in KINDS else ("semantic", cmd.type)
    prev = hub.memory.recall(cmd.key, scope=scope)
    if (
        prev is not None
        and isinstance(prev.metadata, dict)
        and prev.metadata.get("job") == (ctx.job.id)
    ):
        rec = prev  # this job wrote it before it was retried
    else:
        rec = hub.memory.remember(
            cmd.key,
            cmd.value,
            kind=kind,  # type: ignore[arg-type]
            category=category,
            embedding=_embed(ctx.loop, value_text(cmd.value)),
            space=opts.space,
            scope=scope,
            metadata={"session": ctx.session, "job": ctx.job.id},
            source=f"{ctx.loop.name}:{ctx.session}",
        )
    return {"stored": rec.key, "version": rec.version, "kind": rec.kind, "category": category}


def context_k(depth: str | int, default: int) -> int:
    """How many memories a ``cl`` load of ``depth`` returns."""
    if isinstance(depth, int):
        return max(1, min(100, depth))
    return {"summary": 3, "brief": 3, "full": min(100, 4 * default)}.get(depth, default)


def load_context(cmd: Any, ctx: CommandContext) -> str:
    """The built-in ``cl`` handler (module docs): the ``cl`` event's summary."""
    opts = ctx.loop.memory or LoopMemory()
    cid = cmd.context_id
    k = context_k(cmd.depth, opts.context_k)
    exact = ctx.hub.memory.recall(cid, scope=opts.scope_of(ctx.session))
    around = cid if _ENTITY.fullmatch(cid) else None
    hits = search_memories(ctx.loop, ctx.session, cid.replace("_", " "), k=k, around=around)
    records = [exact] if exact is not None else []
    records += [h.record for h in hits if exact is None or h.record.row != exact.row]
    if not records:
        return f"No memories about {cid}."
    return f"Memories about {cid}: " + "; ".join(memory_line(r) for r in records[:k])
