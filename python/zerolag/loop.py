"""The dual loop: a fast frontend model answers at once; the heavy work runs in the backend.

::

    import zerolag
    from zerolag.llm import RuleBasedFrontend

    hub = zerolag.open()
    loop = zerolag.DualLoop(hub, frontend=RuleBasedFrontend())

    @loop.command("tc")                       # what a "tc:..." command does, in the backend
    def create_task(cmd, ctx):
        ctx.progress(0.5)                      # -> an "su" event on the session
        return {"summary": f"planned {cmd.title}"}   # -> a "tc" (task complete) event

    reply = loop.send("s1", "Create an auth system")  # returns before the backend starts
    print(reply.text, reply.commands, reply.timings)
    loop.run_backend(concurrency=4)            # or `zerolag worker app:loop` elsewhere
    for ev in loop.events("s1"): ...           # typed tr/su/tc/cl/er events

**send** builds the frontend prompt within a token budget (:mod:`zerolag.prompt`) with the
session's recent commands and the live status of its backend work, calls the model, pulls the
coded commands (:func:`zerolag.protocol.extract`) and JSON handoffs out of its reply, checks
them against the registered kinds (an allow-list), indexes the handoffs (and a task per
``tc``) in ``hub.tasks``, queues the commands as durable jobs (one ``enqueue_many``) and
returns a :class:`Reply`. A reply with an unregistered, malformed or oversized command starts
nothing at all: an ``er`` event goes to the session instead. ``asend`` is the same for asyncio
code (async models are awaited; on one Redis server the enqueue is sent from the event loop's
thread and a reply within ~200 us is taken there, a slower one is awaited off the loop).

**The backend** runs the handler of each command's kind with the typed command and a
:class:`CommandContext`. Events go to the channel ``loop:<session>`` (``<name>:<session>`` for
a loop named otherwise): ``su`` when a worker starts a command and on every ``ctx.progress``,
``tc`` (or ``cl`` for a context load) with the handler's return value, ``er`` with code
``E_HANDLER`` and a recovery hint when it raises (the job is retried per its ``max_attempts``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from . import llm, protocol, tracing
from ._core import ErrorEvent, Hub, LoopState
from ._loop_parse import (
    COMMAND_KINDS,
    DEFAULT_SYSTEM,
    SYNTAX,
    Rejected,
    parse_reply,
    plan_tasks,
    visible_text,
)
from .exceptions import (
    ConnectionError,
    TimeoutError,
    ValidationError,
    ZerolagError,
)
from .jobs import JobContext, Worker, WorkerStats
from .loop_backend import CommandContext, make_job_handler
from .loop_graph import RESUME, GraphSpec, check_graph, graph_handler, run_record, workflow_handler
from .loop_memory import LoopMemory, load_context, memory_line, search_memories, store_memory
from .loop_types import LoopEvent, Reply, Timings, decode_loop_event
from .prompt import Budget, budget_tuple, estimate_tokens

__all__ = ["CommandContext", "DualLoop", "LoopEvent", "LoopMemory", "Reply", "Timings"]

log = logging.getLogger("zerolag.loop")


def _log_rejected(name: str, session: str, errors: list[ErrorEvent]) -> None:
    """A model reply refused by the protocol check: the error codes only (the reply's text and
    commands may hold user data)."""
    log.warning(
        "loop %s, session %s: model reply refused (%s); nothing executed",
        name,
        session,
        ", ".join(e.code for e in errors[:8]),
    )


class _Kind:
    __slots__ = ("handler", "options")

    def __init__(self, handler: Callable[..., Any], options: dict[str, Any]) -> None:
        self.handler = handler
        self.options = options


class DualLoop:
    """The frontend/backend loop over a :class:`zerolag.Hub` (see the module docs).

    ``frontend``: the model (:mod:`zerolag.llm`: any ``model(messages) -> str``, sync or
    async). ``system``: the system prompt (default: instructions listing the registered
    kinds; ``{commands}`` in it is replaced by that list). ``budget``: :class:`Budget` or a
    total token count. ``name``: the loop's name: job kinds are ``<name>.<kind>``, channels
    ``<name>:<session>`` (default ``loop``). ``backend_grace``: seconds after which a command
    no worker picked up is reported to the user. ``max_reply_chars``, ``max_commands``,
    ``max_command_bytes``: limits on a model reply; beyond them nothing executes.

    Each ``tc`` command gets a task id at once (in ``Reply.task_ids``). The task is indexed
    in ``hub.tasks`` right away when the model attached a handoff for it (its metadata); else
    by the worker that picks the command up, before the handler runs, which keeps ``send`` at
    one store round trip (``index_on_send=True`` indexes it during ``send`` instead, one more
    round trip).

    ``memory``: a :class:`LoopMemory` (or True for the defaults) connects the loop to
    ``hub.memory``: built-in ``ms`` (store) and ``cl`` (search) handlers are registered, and
    with ``prompt_k`` above 0 each prompt carries the best memories for the user's message
    (:mod:`zerolag.loop_memory`).
    """

    def __init__(
        self,
        hub: Hub,
        frontend: llm.Model,
        *,
        system: str | None = None,
        budget: Budget | int | None = None,
        name: str = "loop",
        backend_grace: float = 5.0,
        max_reply_chars: int = 32_000,
        max_commands: int = 16,
        max_command_bytes: int = 4096,
        count_tokens: Callable[[str], int] | None = None,
        index_on_send: bool = False,
        memory: LoopMemory | bool | None = None,
    ) -> None:
        if not isinstance(hub, Hub):
            raise ValidationError("DualLoop needs a zerolag.Hub (zerolag.open(...))")
        if not callable(frontend):
            raise ValidationError("frontend must be a model: callable(messages) -> str")
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", name):
            raise ValidationError(f"loop name must be 1-64 letters, digits, _ or -, got {name!r}")
        self.hub = hub
        self.frontend = frontend
        self.name = name
        self.budget = Budget(total=budget) if isinstance(budget, int) else (budget or Budget())
        self.backend_grace = float(backend_grace)
        self.max_reply_chars = max_reply_chars
        self.max_commands = max_commands
        self.max_command_bytes = max_command_bytes
        self.index_on_send = index_on_send
        self._system = system
        self._count = None if count_tokens is estimate_tokens else count_tokens
        self._kinds: dict[str, _Kind] = {}
        self._graphs: dict[str, GraphSpec] = {}
        self._state = LoopState()  # per session: commands, their latest events (in Rust)
        self._workers: list[Worker] = []
        self._events = hub.events
        self._jobs = hub.jobs
        self._ajobs = hub.jobs._async_twin()
        self._tasks = hub.tasks
        self._system_text = ""
        self._lock = threading.RLock()
        self._pattern = f"{name}:*"
        self._cursor: str = "0"  # the tracker catches up on the retained log first
        self._seen: tuple[int, int] = (0, 0)
        self._tracker: threading.Thread | None = None
        self._closed = False
        if memory is True:
            memory = LoopMemory()
        if memory is not None and memory is not False and not isinstance(memory, LoopMemory):
            raise ValidationError("memory must be a zerolag.LoopMemory, True or None")
        self.memory: LoopMemory | None = memory or None
        self._memory_spaces: set[str] = set()
        if self.memory is not None:
            self.register("ms", store_memory)
            self.register("cl", load_context)

    def __repr__(self) -> str:
        return f"DualLoop(name={self.name!r}, kinds={self.kinds}, hub={self.hub!r})"

    # ---------------------------------------------------------------- registration

    @property
    def kinds(self) -> list[str]:
        """The registered command kinds (the allow-list)."""
        return sorted(self._kinds)

    def register(
        self,
        kind: str,
        handler: Callable[..., Any],
        *,
        max_attempts: int = 3,
        backoff: Any = None,
        timeout: float | None = None,
        priority: int = 0,
    ) -> None:
        """Registers ``handler(command, ctx)`` (sync or ``async def``) for the command
        ``kind`` (``tc``, ``ts``, ``wf``, ``cl`` or ``ms``), with its job options (see
        :meth:`zerolag.Jobs.enqueue`). Only registered kinds ever start."""
        if kind not in COMMAND_KINDS:
            raise ValidationError(
                f"unknown command kind {kind!r}: one of {', '.join(COMMAND_KINDS)}"
            )
        if not callable(handler):
            raise ValidationError("handler must be callable as handler(command, ctx)")
        if kind == "wf" and self._graphs and not getattr(handler, "_zerolag_graph", False):
            raise ValidationError(
                "wf commands run this loop's graphs (register_graph) and their resumes: "
                "register the workflow as a graph, or use a loop without graphs"
            )
        opts: dict[str, Any] = {"max_attempts": max_attempts, "priority": priority}
        if backoff is not None:
            opts["backoff"] = backoff
        if timeout is not None:
            opts["timeout"] = timeout
        self._state.set_kind(kind, {"kind": self.job_kind(kind), **opts})  # checks opts
        self._kinds[kind] = _Kind(handler, opts)
        self._system_text = ""

    def command(
        self, kind: str, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator form of :meth:`register`: ``@loop.command("tc", max_attempts=5)``."""

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.register(kind, fn, **options)
            return fn

        return deco

    def register_graph(
        self,
        name: str,
        graph: Any,
        *,
        input: Callable[[Any], Any] | None = None,
        output: Callable[[Any], Any] | None = None,
        max_attempts: int = 3,
        backoff: Any = None,
        timeout: float | None = None,
        priority: int = 0,
    ) -> None:
        """Runs the LangGraph ``graph`` (a ``StateGraph`` or a compiled graph) in the backend
        (:mod:`zerolag.loop_graph`): ``name`` is a workflow id (``wf:<name>|{params}``
        starts it; ``"wf"``: every workflow id no other graph has) or a command kind (``tc``,
        ``ts``, ``cl``, ``ms``: every command of that kind). ``input(command)`` makes the
        graph's input (default: the params of a ``wf``, the fields of another command);
        ``output(state)`` the ``tc`` result (default: the final state as JSON). Job options
        as in :meth:`register`. Nodes report ``su`` events, ``interrupt()`` waits for
        :meth:`resume`, and a retried or killed run resumes from its last checkpoint."""
        check_graph(graph)
        if input is not None and not callable(input):
            raise ValidationError("input must be callable as input(command)")
        if output is not None and not callable(output):
            raise ValidationError("output must be callable as output(state)")
        opts = {
            "max_attempts": max_attempts,
            "backoff": backoff,
            "timeout": timeout,
            "priority": priority,
        }
        spec = GraphSpec(name, graph, input, output)
        if name in COMMAND_KINDS and name != "wf":
            self.register(name, graph_handler(spec), **opts)
            self._graphs[name] = spec
            self._ensure_workflows(opts)
            return
        if name == RESUME:
            raise ValidationError(f"{RESUME!r} is the workflow id of resumes; name it otherwise")
        if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", name):
            raise ValidationError(
                f"a graph's workflow id is 1-64 letters, digits, '_', '.' or '-', got {name!r}"
            )
        existing = self._kinds.get("wf")
        if existing is not None and not getattr(existing.handler, "_zerolag_graph", False):
            raise ValidationError(
                "a plain wf handler is registered: graphs run workflows and their resumes "
                "through wf, so the two cannot be mixed on one loop"
            )
        self._graphs[name] = spec
        self._ensure_workflows(opts, replace=True)

    def _ensure_workflows(self, opts: dict[str, Any], replace: bool = False) -> None:
        k = self._kinds.get("wf")
        if k is not None and not getattr(k.handler, "_zerolag_graph", False):
            raise ValidationError(
                "a plain wf handler is registered: graph runs are resumed through wf, so the "
                "two cannot be mixed on one loop"
            )
        if k is None or replace:
            self.register("wf", workflow_handler(self), **opts)

    @property
    def graphs(self) -> list[str]:
        """The names graphs are registered under."""
        return sorted(self._graphs)

    def resume(self, run: str, value: Any = None) -> str:
        """Continues the graph run ``run`` (its job id: ``LoopEvent.job`` of its
        ``waiting_input`` event) with ``value`` as the answer to its ``interrupt()``; queues
        the continuation as a job for the backend and returns its id. NotFoundError if no
        such run is waiting."""
        rec = run_record(self, self.hub, run)
        cmd = protocol.WorkflowStart(RESUME, {"run": run, "value": value})
        k = self._kinds["wf"]
        job = self._jobs.enqueue(
            self.job_kind("wf"),
            {"s": rec["session"], "c": cmd.encode(), "e": rec["entity"]},
            **{o: v for o, v in k.options.items() if v is not None},
        )
        return str(job.id)

    def bind(self, hub: Hub) -> DualLoop:
        """A copy of this loop (model, prompt, limits, handlers) on another hub, with its own
        session state (what ``zerolag worker module:loop`` runs on the store it was given)."""
        other = DualLoop(
            hub,
            self.frontend,
            system=self._system,
            budget=self.budget,
            name=self.name,
            backend_grace=self.backend_grace,
            max_reply_chars=self.max_reply_chars,
            max_commands=self.max_commands,
            max_command_bytes=self.max_command_bytes,
            count_tokens=self._count,
            index_on_send=self.index_on_send,
            memory=self.memory,
        )
        other._graphs = dict(self._graphs)
        for kind, k in self._kinds.items():
            other.register(kind, k.handler, **k.options)
        return other

    def job_kind(self, kind: str) -> str:
        """The job kind commands of ``kind`` are queued as (``<name>.<kind>``)."""
        return f"{self.name}.{kind}"

    def channel(self, session: str) -> str:
        """The event channel of ``session``."""
        return f"{self.name}:{session}"

    @property
    def system(self) -> str:
        """The system prompt in force."""
        if not self._system_text:
            allowed = "; ".join(SYNTAX[k] for k in self.kinds) or "(no commands)"
            base = self._system if self._system is not None else DEFAULT_SYSTEM
            self._system_text = base.replace("{commands}", allowed)
        return self._system_text

    # ---------------------------------------------------------------- session state

    def _apply(self, events: list[Any], cursor: str) -> None:
        """Applies a page of the loop's events (from the tracker or a catch-up) once each."""
        pre = len(self.name) + 1
        with self._lock:
            last = self._seen
            for ev in events:
                key = _id_key(ev.id)
                if key <= last:
                    continue
                last = key
                data = ev.data
                line = data.get("e") if isinstance(data, dict) else None
                if isinstance(line, str):
                    job, cmd = data.get("j"), data.get("c")
                    self._state.apply(
                        ev.channel[pre:],
                        line,
                        job if isinstance(job, str) else None,
                        cmd if isinstance(cmd, str) else None,
                        ev.time,
                    )
            self._seen = max(last, _id_key(cursor))

    def _poll(self, block: float) -> bool:
        cursor = self._cursor
        evs, nxt = self._events._poll([self._pattern], cursor, 256, block)
        if evs or nxt != cursor:
            self._apply(evs, nxt)
            if _id_key(nxt) > _id_key(self._cursor):
                self._cursor = nxt
        return bool(evs)

    def _track(self) -> None:
        """Background thread: applies the loop's events as they come (one per loop)."""
        delay = 0.05
        while not self._closed:
            try:
                self._poll(0.5)
                delay = 0.05
            except (ConnectionError, TimeoutError):
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except ZerolagError:  # the hub was closed
                return
            except BaseException:
                # A closed loop's tracker may still be in its poll while the interpreter
                # shuts down (it is a daemon thread); nothing is left to report then.
                if self._closed or sys.is_finalizing():
                    return
                raise

    def _ensure_tracker(self) -> None:
        if self._tracker is None:
            with self._lock:
                if self._tracker is None:
                    t = threading.Thread(
                        target=self._track, daemon=True, name=f"zl-loop-{self.name}"
                    )
                    self._tracker = t
                    t.start()

    def catch_up(self) -> None:
        """Applies every event published so far (the tracker does this continuously, a few
        ms behind; call it to make :meth:`status` and :meth:`prompt` exact, e.g. in tests)."""
        self._ensure_tracker()
        try:
            # Up to the log's end as it is now: events published meanwhile are the tracker's,
            # so a busy log cannot keep this call going.
            end = _id_key(self._events.last_id())
            while _id_key(self._cursor) < end:
                before = self._cursor
                self._poll(0.0)
                if self._cursor == before:
                    return  # nothing more to read (the rest was trimmed away)
        except (ConnectionError, TimeoutError):
            return

    def status(self, session: str) -> list[str]:
        """The backend status lines the next prompt of ``session`` will carry."""
        self.catch_up()
        return self._state.status(session, self.backend_grace)

    def prompt(self, session: str, message: str) -> list[dict[str, str]]:
        """The messages the frontend would get for ``message`` now (for inspection)."""
        self.catch_up()
        return self._build(session, message)[0]

    def close(self) -> None:
        """Stops the event tracker and any backend worker this loop runs."""
        self._closed = True
        self.stop()

    def __enter__(self) -> DualLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _build(
        self, session: str, message: str, memories: list[str] | None = None
    ) -> tuple[list[dict[str, str]], dict[str, int]]:
        b = budget_tuple(self.budget)
        if memories is None:
            memories = self._memory_lines(session, message)
        return self._state.prompt(
            session, message, self.system, b, self.backend_grace, self._count, memories
        )

    def _memory_lines(self, session: str, message: str) -> list[str]:
        """The prompt's memory lines for ``message`` (none unless ``prompt_k``; none either
        when the store cannot be reached: the answer goes on without them)."""
        m = self.memory
        if m is None or m.prompt_k <= 0:
            return []
        try:
            hits = search_memories(self, session, message, k=m.prompt_k)
        except (ConnectionError, TimeoutError):
            return []
        return [memory_line(h.record) for h in hits]

    # ---------------------------------------------------------------- the frontend path

    def send(self, session: str, message: str) -> Reply:
        """Answers ``message`` in ``session``: prompt, model call, dispatch (module docs).
        With OpenTelemetry installed, a ``zerolag.send`` span whose context the queued jobs
        carry (``zerolag.tracing``)."""
        if tracing.enabled():
            with tracing.span("zerolag.send", {"zerolag.session": session}):
                return self._send(session, message)
        return self._send(session, message)

    def _send(self, session: str, message: str) -> Reply:
        t0 = time.perf_counter()
        if self._tracker is None:
            self._ensure_tracker()
        messages, tokens = self._build(session, message)
        t1 = time.perf_counter()
        raw = llm.complete(self.frontend, messages)
        t2 = time.perf_counter()
        reply = self._dispatch(session, raw)
        t3 = time.perf_counter()
        return self._reply(session, reply, raw, tokens, (t0, t1, t2, t3))

    async def asend(self, session: str, message: str) -> Reply:
        """:meth:`send` for asyncio code: an async model is awaited, a sync one runs on a
        thread unless it declares ``blocking = False``. On one Redis server the enqueue is
        sent from this thread and its reply polled for briefly (``ZEROLAG_BUSY_POLL_US``,
        200 us): a fast reply completes here, without a round trip through the event loop; a
        slower one is awaited on another thread, so the loop is never held longer. Elsewhere
        the enqueue is awaited natively; task index writes for handoffs run on a thread."""
        if tracing.enabled():
            with tracing.span("zerolag.send", {"zerolag.session": session}):
                return await self._asend(session, message)
        return await self._asend(session, message)

    async def _asend(self, session: str, message: str) -> Reply:
        t0 = time.perf_counter()
        if self._tracker is None:
            self._ensure_tracker()
        mems = None
        if self.memory is not None and self.memory.prompt_k > 0:
            mems = await asyncio.to_thread(self._memory_lines, session, message)
        messages, tokens = self._build(session, message, mems)
        t1 = time.perf_counter()
        raw = await llm.acomplete(self.frontend, messages)
        t2 = time.perf_counter()
        reply = await self._adispatch(session, raw)
        t3 = time.perf_counter()
        return self._reply(session, reply, raw, tokens, (t0, t1, t2, t3))

    def _reply(
        self,
        session: str,
        parts: tuple[str, list[Any], list[str], list[str], list[ErrorEvent]],
        raw: str,
        tokens: dict[str, int],
        t: tuple[float, float, float, float],
    ) -> Reply:
        text, commands, jobs, task_ids, errors = parts
        waiting, oldest = self._state.waiting(session, self.backend_grace)
        notice = None
        if waiting:
            notice = (
                f"{waiting} earlier command(s) have waited {time.time() - oldest:.0f} s for a "
                "backend worker; they stay queued and will run when one is available."
            )
        if any(e.code == "E_BACKEND_DOWN" for e in errors):
            notice = "The store could not be reached, so nothing was queued; please retry."
        elif errors:
            notice = f"Nothing was started: {errors[0].message[:160]}"
        if notice:
            text = f"{text}\n\n({notice})" if text else f"({notice})"
        t0, t1, t2, t3 = t
        timings = Timings(
            prompt_ms=(t1 - t0) * 1e3,
            model_ms=(t2 - t1) * 1e3,
            dispatch_ms=(t3 - t2) * 1e3,
            total_ms=(t3 - t0) * 1e3,
        )
        return Reply(session, text, commands, jobs, task_ids, timings, errors, notice, raw, tokens)

    def _dispatch(
        self, session: str, raw: str
    ) -> tuple[str, list[Any], list[str], list[str], list[ErrorEvent]]:
        try:
            text, commands, handoffs = self._parse(raw)
        except Rejected as r:
            _log_rejected(self.name, session, r.errors)
            self._publish_errors(session, r.errors)
            return visible_text(raw), [], [], [], r.errors
        if not commands and not handoffs:
            return text, [], [], [], []
        try:
            jobs, task_ids = self._queue(session, commands, handoffs)
        except (ConnectionError, TimeoutError, ValidationError) as e:
            return self._failed(session, text, e)
        return text, commands, jobs, task_ids, []

    async def _adispatch(
        self, session: str, raw: str
    ) -> tuple[str, list[Any], list[str], list[str], list[ErrorEvent]]:
        try:
            text, commands, handoffs = self._parse(raw)
        except Rejected as r:
            _log_rejected(self.name, session, r.errors)
            await asyncio.to_thread(self._publish_errors, session, r.errors)
            return visible_text(raw), [], [], [], r.errors
        if not commands and not handoffs:
            return text, [], [], [], []
        try:
            jobs, task_ids = await self._aqueue(session, commands, handoffs)
        except (ConnectionError, TimeoutError, ValidationError) as e:
            return await asyncio.to_thread(self._failed, session, text, e)
        return text, commands, jobs, task_ids, []

    def _parse(self, raw: str) -> tuple[str, list[Any], list[dict[str, Any]]]:
        return parse_reply(
            raw,
            self._state,
            max_reply_chars=self.max_reply_chars,
            max_commands=self.max_commands,
            max_command_bytes=self.max_command_bytes,
        )

    def _failed(
        self, session: str, text: str, e: Exception
    ) -> tuple[str, list[Any], list[str], list[str], list[ErrorEvent]]:
        if isinstance(e, ValidationError):  # a handoff the index refused: nothing was queued
            log.warning(
                "loop %s, session %s: a handoff was refused; nothing queued", self.name, session
            )
            err = ErrorEvent("E_INVALID", str(e)[:300], protocol.ERROR_CODES["E_INVALID"])
            self._publish_errors(session, [err])
        else:
            log.warning(
                "loop %s, session %s: store unreachable, nothing queued: %s", self.name, session, e
            )
            err = ErrorEvent("E_BACKEND_DOWN", f"store unreachable: {e}", "retry later")
        return text, [], [], [], [err]

    def _queue(
        self, session: str, commands: list[Any], handoffs: list[dict[str, Any]]
    ) -> tuple[list[str], list[str]]:
        tasks, new_tasks = plan_tasks(session, commands, handoffs, self.index_on_send)
        indexed = self._index(new_tasks, handoffs) if new_tasks or handoffs else []
        jobs, task_ids = self._state.dispatch(
            self._jobs, session, commands, tasks, tracing.inject() or None
        )
        return jobs, _merge(task_ids, indexed)

    async def _aqueue(
        self, session: str, commands: list[Any], handoffs: list[dict[str, Any]]
    ) -> tuple[list[str], list[str]]:
        tasks, new_tasks = plan_tasks(session, commands, handoffs, self.index_on_send)
        indexed = []
        if new_tasks or handoffs:
            indexed = await asyncio.to_thread(self._index, new_tasks, handoffs)
        jobs, task_ids = await self._state.adispatch(
            self._ajobs, session, commands, tasks, tracing.inject() or None
        )
        return jobs, _merge(task_ids, indexed)

    def _index(self, new_tasks: list[dict[str, Any]], handoffs: list[dict[str, Any]]) -> list[str]:
        """Indexes the tasks ``send`` creates itself; the ids of the handoffs' tasks."""
        if new_tasks:
            self._tasks.create_many(new_tasks)
        return [self._tasks.apply_handoff(h).id for h in handoffs]

    def _publish_errors(self, session: str, errors: list[ErrorEvent]) -> None:
        ch = self.channel(session)
        for e in errors[:8]:
            try:
                self._events.publish(ch, {"e": e.encode()})
            except (ConnectionError, TimeoutError):
                return

    # ---------------------------------------------------------------- events

    def events(
        self, session: str, *, after: str | None = None, timeout: float | None = None
    ) -> Iterator[LoopEvent]:
        """The session's backend events as typed :class:`LoopEvent` objects, blocking until
        each comes (``after``: an event id to resume after, ``"0"``: from the oldest kept;
        default: from now). ``timeout``: stop once no event came for that many seconds
        (default: never; stop with ``break``)."""
        sub = self._events.subscribe(self.channel(session), after=after)
        try:
            while True:
                ev = sub.get(timeout=timeout)
                if ev is None:
                    return
                le = decode_loop_event(session, ev)
                if le is not None:
                    yield le
        finally:
            sub.close()

    def history(
        self, session: str, *, after: str | None = None, limit: int = 1000
    ) -> list[LoopEvent]:
        """The session's retained events after ``after`` (default: from the oldest), oldest
        first, at most ``limit``."""
        ch = [self.channel(session)]
        cursor = after or "0"
        out: list[LoopEvent] = []
        while len(out) < limit:
            evs, cursor = self._events._poll(ch, cursor, 500, 0.0)
            if not evs:
                break
            out.extend(le for le in (decode_loop_event(session, e) for e in evs) if le is not None)
        return out[:limit]

    def wait_for(
        self,
        session: str,
        predicate: Callable[[LoopEvent], bool],
        *,
        timeout: float,
        after: str | None = "0",
    ) -> LoopEvent | None:
        """The first event of ``session`` (after ``after``, default from the oldest kept)
        for which ``predicate`` holds, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._events.subscribe(self.channel(session), after=after) as sub:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                ev = sub.get(timeout=left)
                if ev is None:
                    return None
                le = decode_loop_event(session, ev)
                if le is not None and predicate(le):
                    return le
        return None  # pragma: no cover - the loop above always returns

    async def aevents(
        self, session: str, *, after: str | None = None, timeout: float | None = None
    ) -> AsyncIterator[LoopEvent]:
        """:meth:`events` as an async iterator (``async for ev in loop.aevents("s1")``)."""
        sub = self._events._async_twin().subscribe(self.channel(session), after=after)
        async with sub:
            while True:
                ev = await sub.get(timeout=timeout)
                if ev is None:
                    return
                le = decode_loop_event(session, ev)
                if le is not None:
                    yield le

    # ---------------------------------------------------------------- the backend

    def worker(
        self, *, concurrency: int = 4, visibility: float = 30.0, name: str | None = None
    ) -> Worker:
        """A :class:`zerolag.Worker` running this loop's handlers (what ``run_backend`` and
        ``zerolag worker module:loop`` run)."""
        if not self._kinds:
            raise ValidationError("no command kinds registered: use loop.register / @loop.command")
        handlers: dict[str, Callable[[JobContext], Any]] = {
            self.job_kind(k): make_job_handler(self, k, v.handler) for k, v in self._kinds.items()
        }
        w = Worker(self._jobs, handlers, concurrency=concurrency, visibility=visibility, name=name)
        self._workers.append(w)
        return w

    def run_backend(
        self, concurrency: int = 4, *, burst: bool = False, visibility: float = 30.0
    ) -> WorkerStats:
        """Runs the handlers in this process until :meth:`stop` (or Ctrl-C); with ``burst``
        until no command is ready or running."""
        return self.worker(concurrency=concurrency, visibility=visibility).run(burst=burst)

    async def arun_backend(
        self, concurrency: int = 4, *, burst: bool = False, visibility: float = 30.0
    ) -> WorkerStats:
        """:meth:`run_backend` inside asyncio code (async handlers run on this loop)."""
        w = self.worker(concurrency=concurrency, visibility=visibility)
        return await w.run_async(burst=burst)

    def stop(self) -> None:
        """Stops every backend worker this loop started (thread-safe)."""
        for w in self._workers:
            w.stop()


def _merge(task_ids: list[str], more: list[str]) -> list[str]:
    return list(dict.fromkeys(task_ids + more)) if more else task_ids


def _id_key(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    try:
        return (int(ms), int(seq or 0))
    except ValueError:
        return (0, 0)
