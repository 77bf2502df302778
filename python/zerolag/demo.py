"""`zerolag demo`: the foundation at work on a scripted conversation.

A scripted stand-in for a frontend model replies to users with coded commands and JSON
handoffs; zerolag extracts and decodes them (Rust protocol parser), indexes them as tasks
(LLM-first: the "model" supplied intent, keywords, confidence and related ids), loads a
realistic backlog, then runs the searches an agent would run and times every step.

Until the dual loop exists this is the main job; no model and no server are needed.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from . import protocol
from ._core import Hub

T = TypeVar("T")

# What a small frontend model answers (reference/001 response patterns).
SCRIPTED_REPLIES = [
    (
        "Create an auth system for the app",
        "I'll create that task for you right away!\n"
        "[Generating: tc:User Authentication System|business_growth|high]\n"
        "You'll see the progress shortly.",
    ),
    (
        "Plan the MyApp project",
        "This looks like it needs multiple steps. Starting the workflow now!\n"
        "[Initiating: wf:project_planning|{name:'MyApp',scope:'web,mobile'}]\n"
        "I'll keep you updated as each step completes.",
    ),
    (
        "Build the complete app, and remember I like dark mode",
        "On it. I'll split this up and note your preference.\n"
        "ts:auto|0.3|Complex multi-component system\n"
        "ms:user_preference|{theme:'dark'}|semantic",
    ),
    (
        "What did we discuss yesterday?",
        "Let me pull that up.\n```\ncl:conversation_2026-11-21|full\n```",
    ),
    (
        "Add rate limiting to the public API",
        "Queued: [tc:API rate limiting \\| per-key quotas|security|medium] — details to follow.",
    ),
]

# Backend events coming back (reference/001).
SCRIPTED_EVENTS = [
    "tr:task_123|0.85|one_shot",
    "su:task_123|in_progress|0.45",
    "tc:task_123|success|{next:['task_124','task_125']}",
    "cl:conversation_123|Summary: Discussed auth implementation...",
    "er:E_TIMEOUT|backend model did not answer|retry",
]

# Handoffs the model attached to its replies (reference/000).
SCRIPTED_HANDOFFS: list[dict[str, Any]] = [
    {
        "action": "create_task",
        "taskId": "auth_impl_001",
        "title": "User Authentication System",
        "intent": "auth_implementation",
        "keywords": ["authentication", "security", "jwt"],
        "patterns": ["feature_dev", "security_critical"],
        "confidence": 0.87,
        "related_tasks": ["user_mgmt_002", "api_security_003"],
        "context_cascade": "contexts/agents/dev/backend_tasks.yaml",
        "estimated_effort": "2-3_days",
    },
    {
        "action": "create_task",
        "taskId": "user_mgmt_002",
        "title": "User management screens",
        "intent": "user_management",
        "keywords": ["users", "admin", "ui"],
        "patterns": ["feature_dev"],
        "confidence": 0.74,
        "estimated_effort": "1_day",
    },
    {
        "action": "create_task",
        "taskId": "api_security_003",
        "title": "API security review",
        "intent": "auth_implementation",
        "keywords": ["security", "api", "jwt", "rate_limit"],
        "patterns": ["security_critical"],
        "confidence": 0.91,
        "related_tasks": ["auth_impl_001"],
    },
    {
        "action": "update_task",
        "taskId": "auth_impl_001",
        "status": "in_progress",
        "progress": 0.45,
        "keywords": ["authentication", "security", "jwt", "refresh_tokens"],
    },
]

INTENTS = [
    "auth_implementation",
    "user_management",
    "billing",
    "reporting",
    "search",
    "onboarding",
    "notifications",
    "data_export",
    "performance",
    "docs",
]
WORDS = (
    "login session token cache index invoice chart export import email push page form api "
    "queue worker retry schema migration report dashboard filter sort audit backup restore"
).split()


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1e3


def _backlog(n: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        kws = rng.sample(WORDS, 3)
        rows.append(
            {
                "id": f"backlog_{i:05d}",
                "title": " ".join(rng.sample(WORDS, 4)).capitalize(),
                "intent": rng.choice(INTENTS),
                "keywords": kws,
                "patterns": [rng.choice(["feature_dev", "bugfix", "chore"])],
                "confidence": round(rng.random(), 2),
                "status": rng.choice(["pending", "in_progress", "done"]),
            }
        )
    return rows


def run(
    hub: Hub,
    *,
    backlog: int = 5000,
    as_json: bool = False,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Runs the scripted demo on `hub` (its namespace is cleared first); returns the report."""
    say = (lambda s: None) if as_json else out
    report: dict[str, Any] = {"backend": hub.backend, "namespace": hub.namespace, "steps": []}

    def step(name: str, ms: float, **extra: Any) -> None:
        report["steps"].append({"step": name, "ms": round(ms, 3), **extra})

    hub.clear()
    say(f"zerolag demo on the {hub.backend} store (namespace {hub.namespace!r})\n")

    say("1. The frontend model answers; zerolag pulls the coded commands out of its replies")
    commands = []
    for user, reply in SCRIPTED_REPLIES:
        ex, ms = _timed(partial(protocol.extract, reply))
        commands.extend(ex.commands)
        say(f"   user: {user}")
        for c in ex.commands:
            say(f"     -> {c!r}")
        say(f"     reply shown to the user: {ex.text.strip()!r}  ({ms * 1000:.0f} µs)")
        step("extract", ms, commands=[c.encode() for c in ex.commands])

    say("\n2. Backend events decode to typed objects")
    events, ms = _timed(lambda: protocol.decode_many(SCRIPTED_EVENTS, "event"))
    for line, ev in zip(SCRIPTED_EVENTS, events, strict=True):
        say(f"   {line:<58} -> {ev!r}")
    step("decode_events", ms, count=len(events))
    say(f"   {len(events)} events in {ms * 1000:.0f} µs")

    say("\n3. Handoffs are indexed as tasks (the model supplied the metadata; no model call here)")
    for c in commands:
        if isinstance(c, protocol.TaskCreate):
            t, ms = _timed(
                partial(hub.tasks.create, c.title, intent=c.intent, complexity=c.complexity)
            )
            say(f"   tc -> task {t.id} {t.title!r} intent={t.intent}  ({ms:.2f} ms)")
            step("create_from_command", ms, id=t.id)
    for h in SCRIPTED_HANDOFFS:
        t, ms = _timed(partial(hub.tasks.apply_handoff, h))
        say(f"   {h['action']:<12} {t.id:<18} v{t.version} keywords={t.keywords}  ({ms:.2f} ms)")
        step("apply_handoff", ms, id=t.id, version=t.version)

    rng = random.Random(7)
    rows = _backlog(backlog, rng)
    made, ms = _timed(
        lambda: [hub.tasks.create_many(rows[i : i + 1000]) for i in range(0, len(rows), 1000)]
    )
    say(
        f"\n4. A backlog of {backlog:,} tasks loaded in batches of 1,000: {ms:.0f} ms "
        f"({backlog / (ms / 1e3):,.0f} tasks/s)"
    )
    step("create_many_backlog", ms, count=backlog)

    say("\n5. Searches an agent runs")
    searches: list[tuple[str, dict[str, Any]]] = [
        (
            "intent + all keywords",
            {"intent": "auth_implementation", "keywords": ["security", "jwt"]},
        ),
        (
            "any keyword, in progress",
            {"any_keywords": ["refresh_tokens", "rate_limit"], "status": "in_progress"},
        ),
        ("related to auth_impl_001", {"related_to": "auth_impl_001"}),
        ("free text 'security review'", {"text": "security review"}),
        (
            "backlog: billing + invoice, confident",
            {"intent": "billing", "keywords": ["invoice"], "min_confidence": 0.8},
        ),
        ("most recently updated", {"order": "recent", "limit": 3}),
    ]
    for label, kwargs in searches:
        kwargs.setdefault("limit", 5)
        page, ms = _timed(partial(hub.tasks.search, **kwargs))
        say(
            f"   {label:<40} {len(page):>2} found in {ms * 1000:>6.0f} µs: "
            + ", ".join(t.id for t in page)
        )
        step("search", ms, query=label, found=[t.id for t in page])

    related, ms = _timed(lambda: hub.tasks.related("auth_impl_001"))
    say(f"   related('auth_impl_001') both ways -> {[t.id for t in related]} ({ms * 1000:.0f} µs)")
    step("related", ms, found=[t.id for t in related])

    lat = []
    for i in range(500):
        _, ms = _timed(partial(hub.tasks.get, f"backlog_{i:05d}"))
        lat.append(ms)
    lat.sort()
    p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]
    say(f"\n6. get() over 500 tasks: p50 {p50 * 1000:.0f} µs, p99 {p99 * 1000:.0f} µs")
    step("get_latency", p50, p50_ms=round(p50, 4), p99_ms=round(p99, 4))

    health = hub.health()
    report["health"] = {
        "keys": health.keys,
        "server_version": health.server_version,
        "rtt_ms": health.rtt_ms,
    }
    say(f"\n{health!r}")
    if as_json:
        out(json.dumps(report, indent=2))
    return report
