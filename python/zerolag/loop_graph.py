"""LangGraph graphs as :class:`zerolag.DualLoop` backends (``pip install zerolag[langgraph]``).

``loop.register_graph(name, graph)`` runs a LangGraph graph (a ``StateGraph`` or a compiled
graph) for coded commands: ``name`` is a workflow id (``wf:<name>|{params}`` starts it, the
params being its input) or a command kind (``tc``, ``ts``, ``cl``, ``ms``: every command of
that kind starts it, the command's fields being its input). Each command is one graph run, on
the LangGraph thread ``<loop name>:<job id>``, checkpointed in the same store
(:class:`zerolag.integrations.langgraph.ZerolagSaver`, prefix ``<loop name>-graphs``):

* each node that finishes sends ``su:<entity>|node:<node>|<progress>`` (progress: nodes run
  over nodes in the graph, at most 0.95); the final state sends ``tc`` (``output(state)``,
  default the state as JSON); a node that raises sends ``er`` and the job is retried, the
  retry resuming from the last checkpoint (the nodes that finished do not run again). A
  worker killed in the middle is the same: another worker's attempt resumes the thread.
* a node that calls ``interrupt(payload)`` sends ``su:<entity>|waiting_input|<progress>``
  with the payload as the event's ``data`` and ends the job (no worker waits for a human).
  ``loop.resume(run, value)`` continues it (``run``: the job id, the ``LoopEvent.job`` of its
  events); so does the frontend, with ``wf:resume|{"run": "<job id>", "value": ...}`` or
  ``wf:resume|{"value": ...}`` for the session's latest waiting run.

The runs a session has waiting are in ``hub.kv`` under ``<loop name>-graphs/wait/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import protocol
from ._core import Hub, StatusUpdate
from ._loop_parse import COMMAND_KINDS
from .exceptions import NotFoundError, ValidationError

if TYPE_CHECKING:
    from .loop import DualLoop
    from .loop_backend import CommandContext

__all__ = ["GraphSpec", "Quiet", "graph_handler"]

RESUME = "resume"


@dataclass(frozen=True)
class Quiet:
    """A handler result that sends no ``tc`` (the handler sent its own events)."""

    value: Any


@dataclass
class GraphSpec:
    """A registered graph: the graph, how a command becomes its input and its state the
    result, and the compiled graph per hub (with a checkpointer in that hub's store)."""

    name: str
    graph: Any
    input: Callable[[Any], Any] | None
    output: Callable[[Any], Any] | None
    compiled: dict[int, Any] = field(default_factory=dict)

    def app(self, hub: Hub, prefix: str) -> Any:
        app = self.compiled.get(id(hub))
        if app is None:
            from .integrations.langgraph import ZerolagSaver

            saver = ZerolagSaver(hub, prefix=prefix)
            if hasattr(self.graph, "compile") and not hasattr(self.graph, "stream"):
                app = self.graph.compile(checkpointer=saver)  # a StateGraph builder
            elif getattr(self.graph, "checkpointer", None) in (None, False):
                app = self.graph.copy(update={"checkpointer": saver})
            else:
                app = self.graph  # it brought its own checkpointer
            self.compiled[id(hub)] = app
        return app

    def nodes(self, app: Any) -> int:
        names = [n for n in getattr(app, "nodes", {}) if not str(n).startswith("__")]
        return max(1, len(names))


def check_graph(graph: Any) -> None:
    if not (hasattr(graph, "compile") or hasattr(graph, "stream")):
        raise ValidationError("register_graph needs a LangGraph StateGraph or compiled graph")


def prefix(loop: DualLoop) -> str:
    return f"{loop.name}-graphs"


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=_plain))
    except (TypeError, ValueError):
        return str(value)


def _plain(o: Any) -> Any:
    for attr in ("model_dump", "dict", "to_json"):
        f = getattr(o, attr, None)
        if callable(f):
            try:
                return f()
            except Exception:  # noqa: BLE001 - fall back to text
                break
    return str(o)


def _default_input(cmd: Any) -> Any:
    if isinstance(cmd, protocol.WorkflowStart):
        p = cmd.params
        return p if isinstance(p, dict) else {"input": p}
    d = dict(cmd.to_dict())
    d.pop("kind", None)
    return d


def _wait_keys(loop: DualLoop, session: str, run: str) -> tuple[str, str]:
    p = prefix(loop)
    return f"{p}/run/{run}", f"{p}/wait/{session}/{run}"


def waiting_run(loop: DualLoop, hub: Hub, session: str, run: str | None) -> dict[str, Any]:
    """The record of a waiting run (``run``, or the session's latest one)."""
    if run is None:
        keys = list(hub.kv.keys(f"{prefix(loop)}/wait/{session}/"))
        if not keys:
            raise NotFoundError(f"session {session!r} has no graph run waiting for input")
        runs = [f"{prefix(loop)}/run/{k.rsplit('/', 1)[1]}" for k in keys]
        recs = [r for r in hub.kv.get_many(runs) if isinstance(r, dict)]
        if not recs:
            raise NotFoundError(f"session {session!r} has no graph run waiting for input")
        return max(recs, key=lambda r: r["at"])
    rec = run_record(loop, hub, run)
    if rec["session"] != session:
        raise NotFoundError(f"no graph run {run!r} of session {session!r} is waiting for input")
    return rec


def run_record(loop: DualLoop, hub: Hub, run: str) -> dict[str, Any]:
    """The record of the waiting run ``run`` (NotFoundError if it is not waiting)."""
    rec = hub.kv.get(f"{prefix(loop)}/run/{run}")
    if not isinstance(rec, dict):
        raise NotFoundError(f"no graph run {run!r} is waiting for input")
    return rec


def _run(
    spec: GraphSpec,
    ctx: CommandContext,
    run: str,
    first_input: Any,
    resume: Any = None,
    resuming: bool = False,
) -> Any:
    from langgraph.types import Command

    loop, hub = ctx.loop, ctx.hub
    app = spec.app(hub, prefix(loop))
    config = {"configurable": {"thread_id": f"{loop.name}:{run}"}}
    snap = app.get_state(config)
    started = bool(snap.config and snap.config.get("configurable", {}).get("checkpoint_id"))
    if resuming:
        todo: Any = Command(resume=resume) if snap.interrupts else None
        if not snap.next and started:
            return _finish(spec, ctx, run, snap.values)  # already finished: report it again
    elif not started:
        todo = first_input
    elif snap.interrupts:  # still waiting: announce it again
        step = max(0, int((snap.metadata or {}).get("step", 0)))
        return _waiting(ctx, run, spec, snap, _progress(step, spec.nodes(app)))
    elif snap.next:
        todo = None  # a retry or a killed worker: continue from the last checkpoint
    else:
        return _finish(spec, ctx, run, snap.values)
    # Progress: the nodes run (a resumed run counts its earlier super-steps) over the
    # graph's nodes, at most 0.95 until the end.
    total = spec.nodes(app)
    done = max(0, int((snap.metadata or {}).get("step", 0))) if started else 0
    # durability="sync": each step's checkpoint is stored before the next step starts (the
    # default, "async", stores it while the next step runs: a worker killed then would lose
    # the step and run it again elsewhere).
    for chunk in app.stream(todo, config, stream_mode="updates", durability="sync"):
        for node in chunk:
            if node == "__interrupt__":
                continue
            done += 1
            ctx.emit(StatusUpdate(ctx.entity, f"node:{node}", _progress(done, total)))
    snap = app.get_state(config)
    if snap.interrupts:
        return _waiting(ctx, run, spec, snap, _progress(done, total))
    return _finish(spec, ctx, run, snap.values)


def _progress(done: int, total: int) -> float:
    return round(min(0.95, done / total), 3)


def _waiting(ctx: CommandContext, run: str, spec: GraphSpec, snap: Any, progress: float) -> Quiet:
    payload = _jsonable([i.value for i in snap.interrupts])
    payload = payload[0] if len(payload) == 1 else payload
    run_key, wait_key = _wait_keys(ctx.loop, ctx.session, run)
    rec = {
        "run": run,
        "graph": spec.name,
        "session": ctx.session,
        "entity": ctx.entity,
        "command": ctx.command.encode(),
        "payload": payload,
        "at": time.time(),
    }
    ctx.hub.kv.set_many([(run_key, rec), (wait_key, "")])
    ctx.emit(StatusUpdate(ctx.entity, "waiting_input", progress), data=payload)
    return Quiet({"waiting": payload})


def _finish(spec: GraphSpec, ctx: CommandContext, run: str, values: Any) -> Any:
    ctx.hub.kv.delete_many(list(_wait_keys(ctx.loop, ctx.session, run)))
    return _jsonable(spec.output(values) if spec.output else values)


def graph_handler(spec: GraphSpec) -> Callable[[Any, CommandContext], Any]:
    """The handler of a command kind run by one graph."""

    def handle(cmd: Any, ctx: CommandContext) -> Any:
        inp = spec.input(cmd) if spec.input else _default_input(cmd)
        return _run(spec, ctx, ctx.job.id, inp)

    handle._zerolag_graph = True  # type: ignore[attr-defined]
    return handle


def workflow_handler(loop: DualLoop) -> Callable[[Any, CommandContext], Any]:
    """The ``wf`` handler of a loop with graphs: named workflows and resumes."""

    def handle(cmd: protocol.WorkflowStart, ctx: CommandContext) -> Any:
        graphs: dict[str, GraphSpec] = ctx.loop._graphs
        if cmd.workflow_id == RESUME:
            p = cmd.params if isinstance(cmd.params, dict) else {"value": cmd.params}
            rec = waiting_run(ctx.loop, ctx.hub, ctx.session, p.get("run"))
            spec = graphs.get(rec["graph"])
            if spec is None:
                raise ValidationError(f"graph {rec['graph']!r} is not registered on this loop")
            ctx.entity = rec["entity"]
            return _run(spec, ctx, rec["run"], None, p.get("value"), resuming=True)
        spec = graphs.get(cmd.workflow_id)
        if spec is None:
            known = ", ".join(sorted(k for k in graphs if k not in COMMAND_KINDS)) or "none"
            raise ValidationError(
                f"no graph is registered as workflow {cmd.workflow_id!r} (registered: {known})"
            )
        inp = spec.input(cmd) if spec.input else _default_input(cmd)
        return _run(spec, ctx, ctx.job.id, inp)

    handle._zerolag_graph = True  # type: ignore[attr-defined]
    return handle
