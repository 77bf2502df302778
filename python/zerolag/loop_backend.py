"""The backend side of :class:`zerolag.DualLoop`: what a command handler receives and how its
outcome becomes events on the session.

A handler is ``handler(command, ctx)`` (or ``async def``): ``command`` is the typed protocol
command (:class:`zerolag.protocol.TaskCreate`, ...), ``ctx`` a :class:`CommandContext`. Its
return value becomes the ``tc`` event's result (for a ``cl`` command a string becomes the
``cl`` event's summary; a returned protocol event is sent as is). If it raises, an ``er`` event
with code ``E_HANDLER`` and a recovery hint goes to the session and the job is retried while
attempts remain.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import protocol, tracing
from ._core import ContextLoaded, ErrorEvent, Hub, MemoryHit, StatusUpdate, Task, TaskComplete
from .exceptions import ConflictError, NotFoundError
from .jobs import JobContext
from .loop_graph import Quiet
from .loop_memory import search_memories

if TYPE_CHECKING:
    from .loop import DualLoop

__all__ = ["CommandContext", "make_job_handler"]

_EVENT_TYPES = (
    protocol.TaskReady,
    protocol.TaskComplete,
    protocol.StatusUpdate,
    protocol.ContextLoaded,
    protocol.ErrorEvent,
)


class CommandContext:
    """What a backend handler gets besides the command.

    ``session``, ``entity`` (the id events are about: the task id of a ``tc``, the task of a
    ``ts``, the workflow, context or memory key), ``task_id`` (the task the loop indexed for a
    ``tc``, else the ``ts`` task, else None), ``job`` (the :class:`zerolag.JobContext`:
    ``id``, ``attempt``, ``max_attempts``), ``hub``, and helpers to load what the work needs
    and to report back.
    """

    __slots__ = ("command", "entity", "hub", "job", "loop", "session", "task_id", "_channel")

    def __init__(
        self, loop: DualLoop, job: JobContext, command: protocol.Command, payload: dict[str, Any]
    ) -> None:
        self.loop = loop
        self.hub: Hub = loop.hub
        self.job = job
        self.command = command
        self.session: str = payload["s"]
        self.entity: str = payload.get("e", job.id)
        self.task_id: str | None = payload.get("t") or (
            command.task_id if isinstance(command, protocol.TaskSplit) else None
        )
        self._channel = loop.channel(self.session)

    def __repr__(self) -> str:
        return (
            f"CommandContext(session={self.session!r}, command={self.command.encode()!r}, "
            f"attempt={self.job.attempt})"
        )

    @property
    def attempt(self) -> int:
        """1 for the first attempt."""
        return self.job.attempt

    def emit(self, event: protocol.Event, *, data: Any = None) -> None:
        """Sends a typed protocol event (``tr su tc cl er``) to the session; ``data`` (any
        JSON value) travels with it as :attr:`zerolag.LoopEvent.data`."""
        if not isinstance(event, _EVENT_TYPES):
            raise TypeError(f"emit() takes a protocol event, not {type(event).__name__}")
        body = {"e": event.encode(), "j": self.job.id, "c": self.command.encode()}
        if data is not None:
            body["d"] = data
        if tracing.enabled():
            attrs = {"zerolag.channel": self._channel, "zerolag.event": body["e"][:2]}
            with tracing.span("zerolag.publish", attrs):
                self.hub.events.publish(self._channel, body)
            return
        self.hub.events.publish(self._channel, body)

    def progress(self, progress: float, status: str = "in_progress") -> bool:
        """Reports progress (0..1): an ``su`` event to the session, the job's progress in the
        store, and the claim extended. False if the job was cancelled or reclaimed."""
        p = round(min(1.0, max(0.0, float(progress))), 3)
        self.emit(StatusUpdate(self.entity, status, p))
        return self.job.progress(p)

    async def aprogress(self, progress: float, status: str = "in_progress") -> bool:
        """:meth:`progress` without blocking the event loop."""
        return await asyncio.to_thread(self.progress, progress, status)

    def load_task(self, id: str | None = None) -> Task | None:
        """The task ``id`` (default :attr:`task_id`) from ``hub.tasks``, or None."""
        tid = id or self.task_id
        if tid is None:
            return None
        try:
            return self.hub.tasks.get(tid)
        except NotFoundError:
            return None

    def related(self, id: str | None = None) -> list[Task]:
        """Tasks related to ``id`` (default :attr:`task_id`) either way."""
        tid = id or self.task_id
        if tid is None:
            return []
        try:
            return self.hub.tasks.related(tid)
        except NotFoundError:
            return []

    def update_task(self, **fields: Any) -> Task | None:
        """Updates :attr:`task_id`'s task (status, progress, keywords, ...); None if none."""
        if self.task_id is None:
            return None
        return self.hub.tasks.update(self.task_id, **fields)

    def search(self, **query: Any) -> list[Task]:
        """``hub.tasks.search(**query)`` as a list."""
        return list(self.hub.tasks.search(**query))

    def memories(
        self, text: str | None = None, *, k: int = 8, around: str | None = None
    ) -> list[MemoryHit]:
        """The session's best ``k`` memories (``hub.memory.search`` in the scope and with the
        embedder of the loop's :class:`zerolag.LoopMemory`) for ``text`` and around entity
        ``around``."""
        return search_memories(self.loop, self.session, text, k=k, around=around)

    def document(self, path: str) -> Any:
        """A document from ``hub.docs`` (None if missing)."""
        try:
            return self.hub.docs.get(path)
        except NotFoundError:
            return None


def _outcome(ctx: CommandContext, result: Any) -> tuple[protocol.Event | None, Any]:
    if isinstance(result, Quiet):  # the handler sent its own events
        return None, result.value
    if isinstance(result, _EVENT_TYPES):
        return result, result.to_dict()
    if isinstance(ctx.command, protocol.ContextLoad) and isinstance(result, str):
        return ContextLoaded(ctx.entity, result), result
    return TaskComplete(ctx.entity, "done" if result is None else result, []), result


def _failure(ctx: CommandContext, e: BaseException) -> ErrorEvent:
    job = ctx.job
    msg = f"{type(e).__name__}: {e}"[:300]
    if job.attempt < job.max_attempts:
        hint = f"retrying automatically (attempt {job.attempt} of {job.max_attempts} failed)"
    else:
        hint = f"gave up after {job.attempt} attempts; {protocol.ERROR_CODES['E_HANDLER']}"
    return ErrorEvent("E_HANDLER", msg, hint)


def make_job_handler(
    loop: DualLoop, kind: str, handler: Callable[..., Any]
) -> Callable[[JobContext], Any]:
    """Wraps ``handler(command, ctx)`` as a job handler for :class:`zerolag.Worker`."""

    def prepare(job: JobContext) -> CommandContext:
        payload = job.payload
        if not isinstance(payload, dict) or "c" not in payload or "s" not in payload:
            raise ValueError(f"not a {loop.name} command job: {payload!r}"[:200])
        cmd = protocol.decode_command(payload["c"])
        ctx = CommandContext(loop, job, cmd, payload)
        if payload.get("n") and isinstance(cmd, protocol.TaskCreate) and ctx.task_id:
            try:  # index the task send() left to the backend (once, whoever comes first)
                ctx.hub.tasks.create(
                    cmd.title,
                    id=ctx.task_id,
                    intent=cmd.intent,
                    complexity=cmd.complexity,
                    metadata={"session": ctx.session},
                )
            except ConflictError:
                pass
        ctx.emit(StatusUpdate(ctx.entity, "started", 0.0))
        return ctx

    def finish(ctx: CommandContext, result: Any) -> Any:
        ev, stored = _outcome(ctx, result)
        if ev is not None:
            ctx.emit(ev)
        return stored

    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004
    ):

        async def run_async(job: JobContext) -> Any:
            ctx = await asyncio.to_thread(prepare, job)
            try:
                result = await handler(ctx.command, ctx)
            except Exception as e:
                await asyncio.to_thread(ctx.emit, _failure(ctx, e))
                raise
            return await asyncio.to_thread(finish, ctx, result)

        run_async.__name__ = f"{loop.name}_{kind}"
        return run_async

    def run(job: JobContext) -> Any:
        ctx = prepare(job)
        try:
            result = handler(ctx.command, ctx)
        except Exception as e:
            ctx.emit(_failure(ctx, e))
            raise
        return finish(ctx, result)

    run.__name__ = f"{loop.name}_{kind}"
    return run
