"""What :class:`zerolag.DualLoop` returns: :class:`Reply` (with :class:`Timings`) and the
typed backend events :class:`LoopEvent`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import protocol
from ._core import ErrorEvent

__all__ = ["LoopEvent", "Reply", "Timings", "decode_loop_event"]


@dataclass(frozen=True)
class Timings:
    """Milliseconds: ``prompt`` (status refresh and prompt build), ``model`` (the frontend
    call), ``dispatch`` (extract, validate, index, enqueue), ``overhead`` = prompt +
    dispatch (the library's own part), ``total``."""

    prompt_ms: float
    model_ms: float
    dispatch_ms: float
    total_ms: float

    @property
    def overhead_ms(self) -> float:
        """Everything ``send`` did except calling the model."""
        return self.prompt_ms + self.dispatch_ms


@dataclass(frozen=True)
class Reply:
    """What :meth:`DualLoop.send` returns.

    ``text``: what to show the user (the model's reply without coded lines and handoffs, plus
    a note when the backend has not picked up earlier commands). ``commands``: the typed
    commands queued. ``jobs``: their job ids (same order). ``task_ids``: tasks created or
    updated (a task per ``tc`` command and per handoff). ``errors``: ``er`` events for what was
    rejected (then nothing was queued). ``notice``: the backend note, if any. ``raw``: the
    model's reply as it came. ``prompt_tokens``: estimated tokens per prompt section.
    """

    session: str
    text: str
    commands: list[protocol.Command]
    jobs: list[str]
    task_ids: list[str]
    timings: Timings
    errors: list[ErrorEvent] = field(default_factory=list)
    notice: str | None = None
    raw: str = ""
    prompt_tokens: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True if nothing in the model's reply was rejected."""
        return not self.errors

    def __repr__(self) -> str:
        cmds = ", ".join(c.encode() for c in self.commands)
        errs = f", errors={[e.code for e in self.errors]}" if self.errors else ""
        return (
            f"Reply(session={self.session!r}, text={self.text[:60]!r}, commands=[{cmds}], "
            f"task_ids={self.task_ids}{errs}, overhead_ms={self.timings.overhead_ms:.3f})"
        )


@dataclass(frozen=True)
class LoopEvent:
    """A backend event on a session: ``event`` is the typed protocol event (``TaskReady``,
    ``StatusUpdate``, ``TaskComplete``, ``ContextLoaded``, ``ErrorEvent``); ``id`` the event
    log id (pass it as ``after`` to resume); ``job`` and ``command`` what it is about;
    ``data`` what the handler sent with it (a graph's interrupt payload), else None."""

    id: str
    session: str
    event: protocol.Event
    job: str | None
    command: str | None
    time: float
    data: Any = None

    @property
    def kind(self) -> str:
        """``tr``, ``su``, ``tc``, ``cl`` or ``er``."""
        return self.event.kind

    def __repr__(self) -> str:
        return f"LoopEvent({self.session!r}, {self.event.encode()!r}, job={self.job!r})"


def decode_loop_event(session: str, ev: Any) -> LoopEvent | None:
    data = ev.data
    if not isinstance(data, dict) or "e" not in data:
        return None
    try:
        typed = protocol.decode_event(data["e"])
    except protocol.ProtocolError:
        return None
    return LoopEvent(ev.id, session, typed, data.get("j"), data.get("c"), ev.time, data.get("d"))
