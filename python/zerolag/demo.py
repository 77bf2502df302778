"""`zerolag demo`: the dual loop at work on a scripted conversation.

A user talks to a fast frontend (the offline rule-based stand-in for a small model: no model
and no server are needed); each reply comes back at once while the commands it carries run
in a simulated slow backend (handlers that sleep as a big model would, on three worker
threads). The events of the backend are printed as they arrive, the next prompts carry the
live status, the tasks end up in the index and are found by search. The user's facts go to
``hub.memory`` through ``ms`` commands: one of them changes during the conversation, the
frontend answers from the memories the loop puts in its prompt, and the close shows the fact
now and as of an earlier moment. A latency summary ends it: the library's own overhead on
the frontend path, the time to the first backend event and the completion times.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from . import protocol
from ._core import Hub
from .embed import HashingEmbedder
from .llm import RuleBasedFrontend
from .loop import CommandContext, DualLoop, LoopEvent, LoopMemory, Reply
from .loop_memory import memory_line

SESSION = "demo-user"

CONVERSATION = [
    "Create an auth system for the app",
    "I live in Lisbon",
    "Remember that I like dark mode",
    "Plan the MyApp project",
    "What's the status?",
    "Add rate limiting to the public API",
    "Split it into smaller parts",
    "By the way, I moved to Berlin",
    "What did we discuss so far?",
    "What do you know about me?",
]
# Whose memories the demo keeps (one user, whatever the session).
SCOPE = {"user": SESSION}


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def _backend(loop: DualLoop, step: float, said: list[str]) -> None:
    """Handlers of a simulated slow backend: each step sleeps as a big model call would."""

    @loop.command("tc", max_attempts=3, backoff=0.2)
    def create_task(cmd: protocol.TaskCreate, ctx: CommandContext) -> Any:
        ctx.emit(protocol.TaskReady(ctx.entity, 0.85, "one_shot"))
        for i in range(1, 4):
            time.sleep(step)  # "thinking"
            ctx.update_task(status="in_progress", progress=i / 4)
            ctx.progress(i / 4)
        time.sleep(step)
        ctx.update_task(status="done", progress=1.0)
        return {"summary": f"designed {cmd.title.lower()}", "next": ["review", "implement"]}

    @loop.command("wf")
    def workflow(cmd: protocol.WorkflowStart, ctx: CommandContext) -> Any:
        name = str((cmd.params or {}).get("name", "project"))
        steps = ["requirements", "architecture", "milestones"]
        ids = [f"{ctx.entity}_{s}" for s in steps]
        for i, s in enumerate(steps):
            time.sleep(step)
            ctx.hub.tasks.create(
                f"{name}: {s}",
                id=ids[i],
                intent="project_planning",
                keywords=["planning", s, name.lower().split()[-1]],
                related=ids[:i],
                status="done",
            )
            ctx.progress((i + 1) / len(steps))
        return {"workflow": cmd.workflow_id, "tasks": ids}

    @loop.command("ts")
    def split(cmd: protocol.TaskSplit, ctx: CommandContext) -> Any:
        parent = ctx.load_task()
        title = parent.title if parent else cmd.task_id
        parts = ["design", "implementation", "tests"]
        time.sleep(step)
        made = ctx.hub.tasks.create_many(
            [
                {
                    "id": f"{cmd.task_id}_{p}",
                    "title": f"{title}: {p}",
                    "intent": parent.intent if parent else "feature_dev",
                    "keywords": [*(parent.keywords if parent else []), p][:5],
                    "related": [cmd.task_id],
                }
                for p in parts
            ]
        )
        return {"split": cmd.task_id, "into": [t.id for t in made]}

    # `ms` is the built-in handler of the loop's memory (LoopMemory): hub.memory.remember.

    @loop.command("cl")
    def load_context(cmd: protocol.ContextLoad, ctx: CommandContext) -> str:
        time.sleep(step * 2)  # "summarizing with the big model"
        asked = "; ".join(s.lower() for s in said[:-1])
        known = [memory_line(h.record) for h in ctx.memories("live like prefer", k=3)]
        return f"You asked for: {asked}. I remember: " + ("; ".join(known) or "nothing yet") + "."


def run(
    hub: Hub,
    *,
    as_json: bool = False,
    out: Callable[[str], None] = print,
    step: float = 0.4,
    pause: float = 0.5,
    samples: int = 2000,
) -> dict[str, Any]:
    """Runs the scripted conversation on ``hub`` (its namespace is cleared first) and returns
    the report. ``step``: seconds one simulated backend model step sleeps; ``pause``: seconds
    the user "types" between turns; ``samples``: extra sends timed for the latency summary."""
    lock = threading.Lock()

    def say(s: str) -> None:
        if not as_json:
            with lock:
                out(s)

    hub.clear()
    t_start = time.perf_counter()
    said: list[str] = []
    memory = LoopMemory(scope=SCOPE, embedder=HashingEmbedder(256), prompt_k=3)
    loop = DualLoop(hub, RuleBasedFrontend(), backend_grace=30.0, memory=memory)
    _backend(loop, step, said)
    report: dict[str, Any] = {
        "backend": hub.backend,
        "namespace": hub.namespace,
        "frontend": repr(loop.frontend),
        "turns": [],
        "events": [],
    }
    say(f"zerolag demo: the dual loop on the {hub.backend} store (namespace {hub.namespace!r})")
    say("frontend: offline rule-based stand-in for a small model; backend: simulated slow")
    say(f"model ({step:g} s per step) on 3 worker threads\n")

    sent_at: dict[str, float] = {}
    first_event: dict[str, float] = {}
    done_at: dict[str, float] = {}
    all_jobs: list[str] = []
    stop = threading.Event()

    def show(ev: LoopEvent) -> None:
        now = time.perf_counter()
        if ev.job and ev.job not in first_event:
            first_event[ev.job] = now
        if ev.kind in ("tc", "cl") and ev.job:
            done_at[ev.job] = now
        line = ev.event.encode()
        if len(line) > 92:
            line = line[:91] + "…"
        report["events"].append({"t_s": round(now - t_start, 3), "event": ev.event.encode()})
        say(f"      <- [{now - t_start:5.2f} s] {line}")

    def printer() -> None:
        cursor = hub.events.last_id()
        while not stop.is_set():
            for ev in loop.events(SESSION, after=cursor, timeout=0.1):
                cursor = ev.id
                show(ev)

    backend = threading.Thread(target=lambda: loop.run_backend(concurrency=3), daemon=True)
    watcher = threading.Thread(target=printer, daemon=True)
    watcher.start()
    backend.start()
    time.sleep(0.05)

    first_fact_at = 0.0
    for message in CONVERSATION:
        said.append(message)
        if message.startswith("By the way"):
            first_fact_at = time.time()  # a moment the first fact was still true
        reply: Reply = loop.send(SESSION, message)
        now = time.perf_counter()
        for j in reply.jobs:
            sent_at[j] = now
        all_jobs.extend(reply.jobs)
        t = reply.timings
        say(f"[{now - t_start:5.2f} s] user: {message}")
        say(f"         zerolag: {reply.text}")
        for c in reply.commands:
            say(f"           -> queued {c.encode()}")
        say(
            f"           (library {t.overhead_ms * 1e3:.0f} µs + model {t.model_ms * 1e3:.0f} µs; "
            f"prompt {sum(reply.prompt_tokens.values())} tokens)"
        )
        report["turns"].append(
            {
                "user": message,
                "reply": reply.text,
                "commands": [c.encode() for c in reply.commands],
                "task_ids": reply.task_ids,
                "overhead_ms": round(t.overhead_ms, 4),
                "prompt_tokens": reply.prompt_tokens,
            }
        )
        time.sleep(pause)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(j not in done_at for j in all_jobs):
        time.sleep(0.05)
    loop.catch_up()
    final = loop.send(SESSION, "Is everything done? What's the status?")
    say(f"[{time.perf_counter() - t_start:5.2f} s] user: Is everything done? What's the status?")
    say(f"         zerolag: {final.text}")
    stop.set()
    loop.stop()
    backend.join(10)
    watcher.join(2)

    say("\nMemory: a fact that changed, read now and as of an earlier moment")
    cur = hub.memory.recall("user_location", scope=SCOPE)
    then = hub.memory.recall("user_location", scope=SCOPE, as_of=first_fact_at)
    hist = hub.memory.history("user_location", scope=SCOPE)
    at = time.strftime("%H:%M:%S", time.gmtime(first_fact_at))
    say(f"   user_location now:            {cur.value if cur else None!r}")
    say(f"   user_location as of {at}: {then.value if then else None!r}")
    say(
        f"   history: {len(hist)} versions, "
        + ", ".join(f"v{h.version} {h.value!r}" for h in hist)
        + " (nothing overwritten)"
    )
    report["memory"] = {
        "now": cur.value if cur else None,
        "as_of": then.value if then else None,
        "versions": [h.value for h in hist],
    }

    say("\nTasks in the index, found by search (the backend created the planning and split ones)")
    searches: list[tuple[str, dict[str, Any]]] = [
        ("text 'auth'", {"text": "auth"}),
        ("intent project_planning", {"intent": "project_planning"}),
        ("keyword 'implementation'", {"keywords": ["implementation"]}),
        ("status done, most recent", {"status": "done", "order": "recent", "limit": 4}),
    ]
    report["searches"] = []
    for label, q in searches:
        q.setdefault("limit", 6)
        t0 = time.perf_counter()
        page = hub.tasks.search(**q)
        ms = (time.perf_counter() - t0) * 1e3
        say(
            f"   {label:<28} {len(page):>2} in {ms * 1e3:>4.0f} µs: "
            + ", ".join(t.title for t in page)
        )
        report["searches"].append({"query": label, "found": [t.id for t in page], "ms": ms})

    # Latency: the frontend path timed over more sends on a loop of its own (its commands are
    # drained by a burst worker afterwards so nothing stays queued).
    lat = DualLoop(hub, RuleBasedFrontend(handoffs=False), name="latency")
    lat.register("tc", lambda cmd, ctx: None)
    overhead: list[float] = []
    asks = ["Create a small report page", "What's the status?", "Good morning!"]
    for i in range(samples):
        overhead.append(lat.send(f"bench{i % 8}", asks[i % 3]).timings.overhead_ms)
    lat.run_backend(concurrency=2, burst=True)
    lat.close()
    loop.close()

    firsts = [(first_event[j] - sent_at[j]) * 1e3 for j in all_jobs if j in first_event]
    dones = [(done_at[j] - sent_at[j]) * 1e3 for j in all_jobs if j in done_at]
    summary: dict[str, Any] = {
        "sends_timed": samples,
        "overhead_p50_ms": round(_pct(overhead, 0.5), 4),
        "overhead_p99_ms": round(_pct(overhead, 0.99), 4),
        "first_event_p50_ms": round(_pct(firsts, 0.5), 3),
        "first_event_max_ms": round(max(firsts, default=0.0), 3),
        "completion_ms": [round(x, 1) for x in dones],
        "commands": len(all_jobs),
        "completed": len(dones),
        "wall_s": round(time.perf_counter() - t_start, 2),
    }
    report["latency"] = summary
    say("\nLatency")
    p50, p99 = summary["overhead_p50_ms"] * 1e3, summary["overhead_p99_ms"] * 1e3
    say(
        f"   library overhead of send() over {samples:,} sends (everything but the model): "
        f"p50 {p50:.0f} µs, p99 {p99:.0f} µs"
    )
    say(
        f"   time to the first backend event: p50 {summary['first_event_p50_ms']:.1f} ms, "
        f"max {summary['first_event_max_ms']:.1f} ms"
    )
    say(
        f"   {len(dones)}/{len(all_jobs)} commands completed in "
        + ", ".join(f"{x / 1e3:.1f} s" for x in dones)
        + " (the simulated model's sleeps)"
    )
    say(f"   whole demo: {summary['wall_s']:.1f} s")
    if as_json:
        out(json.dumps(report, indent=2))
    return report
