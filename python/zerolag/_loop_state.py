"""Per-session state of a :class:`zerolag.DualLoop` (in memory), fed by the session's events.

Internal: the loop keeps, per session, the commands it dispatched and the latest backend event
about each, and turns them into the prompt's "recent commands" and "backend status" lines.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from . import protocol
from ._core import ContextLoaded, ErrorEvent, StatusUpdate, TaskComplete, TaskCreate, TaskReady

_MAX_COMMANDS = 64  # remembered per session
_FINISHED_SHOWN = 8  # finished commands still shown in the status section
_OPEN_SHOWN = 24  # open commands shown (the newest), and recent command lines


class Cmd:
    """One dispatched command and what the backend said about it so far."""

    __slots__ = (
        "_cl",
        "_qt",
        "_sl",
        "entity",
        "finished",
        "job",
        "kind",
        "label",
        "line",
        "note",
        "progress",
        "queued_at",
        "started",
        "status",
        "updated",
    )

    def __init__(self, line: str, kind: str, entity: str, job: str, label: str) -> None:
        self.line = line
        self.kind = kind
        self.entity = entity
        self.job = job
        self.label = label
        self.queued_at = time.time()
        self.updated = self.queued_at
        self.status = "queued"
        self.progress = 0.0
        self.note = ""
        self.started = False
        self.finished = False
        self._cl: str | None = None  # rendered lines, dropped when the command changes
        self._sl: str | None = None
        self._qt = 0.0  # while queued: when the rendered wait in `_sl` next reads differently

    def command_line(self) -> str:
        if self._cl is None:
            self._cl = f"{self.line}  -> {self.entity}, {self.status}"
        return self._cl

    def status_line(self, now: float, grace: float) -> str:
        if not self.started:  # the wait is the only part that changes, at most once a second
            if self._sl is not None and now < self._qt:
                return self._sl
            wait = now - self.queued_at
            extra = " (no backend worker has picked it up yet; it stays queued)"
            over = wait > grace
            self._sl = f"{self.label} [{self.entity}]: queued {_ago(wait)}{extra if over else ''}"
            step = 1.0 if wait < 120 else 60.0
            nxt = (wait // step + 1) * step
            self._qt = self.queued_at + (nxt if over or nxt <= grace else grace + 1e-6)
            return self._sl
        if self._sl is None:
            if self.finished:
                note = f": {self.note}" if self.note else ""
                self._sl = f"{self.label} [{self.entity}]: {self.status}{note}"
            else:
                note = f", {self.note}" if self.note else ""
                self._sl = f"{self.label} [{self.entity}]: {self.status} {self.progress:.0%}{note}"
        return self._sl


def _short(value: Any, n: int = 80) -> str:
    s = value if isinstance(value, str) else repr(value)
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


class Session:
    """What one loop instance knows about a session."""

    __slots__ = ("by_entity", "by_job", "commands", "cursor", "last_event")

    def __init__(self) -> None:
        self.cursor: str | None = None
        self.commands: deque[Cmd] = deque(maxlen=_MAX_COMMANDS)
        self.by_job: dict[str, Cmd] = {}
        self.by_entity: dict[str, Cmd] = {}
        self.last_event: float | None = None

    def add(self, cmd: Cmd) -> None:
        if len(self.commands) == self.commands.maxlen:
            old = self.commands[0]
            self.by_job.pop(old.job, None)
            if self.by_entity.get(old.entity) is old:
                del self.by_entity[old.entity]
        self.commands.append(cmd)
        self.by_job[cmd.job] = cmd
        self.by_entity[cmd.entity] = cmd

    def adopt(self, line: str, job: str, ev: Any, when: float) -> None:
        """Tracks a command another loop instance (process) dispatched, from its first event."""
        entity = getattr(ev, "task_id", None) or getattr(ev, "entity_id", None)
        entity = entity or getattr(ev, "context_id", None) or job
        try:
            cmd = protocol.decode_command(line)
            label = cmd.title if isinstance(cmd, TaskCreate) else f"{cmd.kind} {entity}"
        except protocol.ProtocolError:
            label = line[:40]
        c = Cmd(line, line[:2], entity, job, label)
        c.queued_at = when
        self.add(c)

    def apply(self, ev: Any, job: str | None, when: float) -> None:
        """Updates the command the event is about (by job id, else by entity id)."""
        self.last_event = when
        cmd = self.by_job.get(job) if job else None
        if cmd is None:
            entity = getattr(ev, "task_id", None) or getattr(ev, "entity_id", None)
            entity = entity or getattr(ev, "context_id", None)
            cmd = self.by_entity.get(entity) if entity else None
        if cmd is None:
            return
        cmd.updated = when
        cmd.started = True
        cmd._cl = cmd._sl = None
        if isinstance(ev, StatusUpdate):
            cmd.status = ev.status
            cmd.progress = ev.progress
            if ev.status in ("done", "completed", "success", "failed", "cancelled"):
                cmd.finished = True
        elif isinstance(ev, TaskReady):
            cmd.status = "ready"
            cmd.note = f"routed {ev.routing}"
        elif isinstance(ev, TaskComplete):
            cmd.status, cmd.progress, cmd.finished = "done", 1.0, True
            cmd.note = _short(ev.result)
        elif isinstance(ev, ContextLoaded):
            cmd.status, cmd.progress, cmd.finished = "done", 1.0, True
            cmd.note = _short(ev.summary)
        elif isinstance(ev, ErrorEvent):
            cmd.note = f"{ev.code}: {_short(ev.message, 60)} ({ev.recovery})"
            cmd.status = "error"
            cmd.finished = "gave up" in ev.recovery or ev.code != "E_HANDLER"

    def waiting(self, now: float, grace: float) -> list[Cmd]:
        """Commands no backend has touched for longer than ``grace`` seconds."""
        return [c for c in self.commands if not c.started and now - c.queued_at > grace]

    def command_lines(self, now: float) -> list[str]:
        n = len(self.commands)
        recent = list(self.commands)[n - _OPEN_SHOWN :] if n > _OPEN_SHOWN else self.commands
        return [c.command_line() for c in recent]

    def status_lines(self, now: float, grace: float) -> list[tuple[bool, str]]:
        """``(finished, line)``: open commands first (oldest first), then the latest finished."""
        open_: list[Cmd] = []
        done: list[Cmd] = []
        for c in self.commands:
            (done if c.finished else open_).append(c)
        out: list[tuple[bool, str]] = []
        if len(open_) > _OPEN_SHOWN:
            out.append((False, f"{len(open_) - _OPEN_SHOWN} older open commands not listed"))
            open_ = open_[-_OPEN_SHOWN:]
        out.extend((False, c.status_line(now, grace)) for c in open_)
        out.extend((True, c.status_line(now, grace)) for c in done[-_FINISHED_SHOWN:])
        return out


def _ago(seconds: float) -> str:
    # Coarse on purpose: the model needs "just now" or "a while", not milliseconds.
    if seconds < 1:
        return "under 1 s"
    if seconds < 120:
        return f"{int(seconds)} s"
    return f"{int(seconds // 60)} min"
