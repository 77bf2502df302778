"""``zerolag info``, ``zerolag bus pending | requeue`` and ``zerolag events tail``
(docs/cli.md)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections import Counter
from typing import Any

from . import __version__
from .cli_ops import Failed, ago, emit, guarded, hub_of, positive, short, store_options

STATES = ("ready", "delayed", "running", "succeeded", "dead", "cancelled")
MAX_DEAD = 10_000  # dead letters read to count them per agent (the most one call returns)


def _bus(hub: Any) -> dict[str, Any]:
    pending = hub.bus.stats().per_agent
    dead = Counter(d.agent for d in hub.bus.dead_letters(None, count=MAX_DEAD))
    agents = sorted(set(hub.bus.agents()) | set(pending) | set(dead))
    return {
        "agents": [
            {"agent": a, "pending": int(pending.get(a, 0)), "dead": int(dead.get(a, 0))}
            for a in agents
        ]
    }


def status(hub: Any) -> dict[str, Any]:
    """What ``zerolag info`` reports, in the shape of the HTTP service's ``/status``."""
    h = hub.health()
    sync = hub.sync.status()
    last = hub.events.last_id()
    return {
        "ok": True,
        "backend": h.backend,
        "namespace": h.namespace,
        "version": __version__,
        "server_version": h.server_version,
        "rtt_ms": round(h.rtt_ms, 3),
        "jobs": {"counts": hub.jobs.counts()},
        "workers": hub.jobs.workers(),
        "bus": _bus(hub),
        "events": {"count": hub.events.count(), "last_id": last},
        "sync": {
            "running": bool(sync.get("running")),
            "pending_writebacks": len(hub.docs.pending_writeback(10_000)),
            "lag_ms": None,
        },
    }


def _say_info(s: dict[str, Any]) -> None:
    print(
        f"zerolag {s['version']} on {s['backend']} {s['server_version']}, "
        f"namespace {s['namespace']!r}, round trip {s['rtt_ms']:.2f} ms"
    )
    counts = s["jobs"]["counts"]
    print("\njobs")
    if not counts:
        print("  none")
    else:
        by_kind: dict[str, Counter[str]] = {}
        for c in counts:
            by_kind.setdefault(c["kind"], Counter())[c["state"]] += c["count"]
        w = max(len(k) for k in by_kind) + 2
        print(f"  {'KIND':<{w}}" + "".join(f"{st:>11}" for st in STATES))
        for k in sorted(by_kind):
            print(f"  {k:<{w}}" + "".join(f"{by_kind[k][st]:>11,}" for st in STATES))
    print("\nworkers")
    if not s["workers"]:
        print("  none")
    for w_ in s["workers"]:
        state = "LOST" if w_["lost"] else "up"
        print(
            f"  {w_['id']:<32} {state:<4}  {w_['host']}:{w_['pid']}  "
            f"kinds {','.join(w_['kinds'])}  done {w_['done']:,}  failed {w_['failed']:,}  "
            f"beat {ago(w_['last_beat'])}, started {ago(w_['started'])}"
        )
    print("\nbus agents")
    agents = s["bus"]["agents"]
    if not agents:
        print("  none")
    for a in agents:
        print(f"  {a['agent']:<24} pending {a['pending']:>9,}   dead {a['dead']:>7,}")
    ev = s["events"]
    print(f"\nevents  {ev['count']:,} retained, last id {ev['last_id']}")
    sy = s["sync"]
    print(
        f"sync    {'running here' if sy['running'] else 'not running here'}, "
        f"{sy['pending_writebacks']:,} write-backs queued"
    )


@guarded
def cmd_info(a: argparse.Namespace) -> int:
    with hub_of(a) as hub:
        s = status(hub)
    if a.json:
        emit(a, s)
    else:
        _say_info(s)
    return 0


def _known_agent(hub: Any, agent: str) -> None:
    if agent not in hub.bus.agents():
        raise Failed(f"no agent {agent!r} is registered in this namespace")


@guarded
def cmd_bus_pending(a: argparse.Namespace) -> int:
    with hub_of(a) as hub:
        _known_agent(hub, a.agent)
        total = int(hub.bus.stats().per_agent.get(a.agent, 0))
        msgs = hub.bus.pending(a.agent, count=a.count)
    if not a.json:
        shown = f" (showing {len(msgs)})" if len(msgs) < total else ""
        print(f"{a.agent}: {total:,} pending{shown}")
    for m in msgs:
        d = {
            "id": m.id,
            "source": m.source,
            "target": m.target,
            "priority": m.priority,
            "kind": m.kind,
            "time": m.time,
            "broadcast": m.broadcast,
            "payload": m.payload,
        }
        emit(
            a,
            d,
            f"  {m.id:<22} {m.priority:<8} from {m.source:<16} {ago(m.time):>10}  "
            f"{short(m.payload)}",
        )
    return 0


@guarded
def cmd_bus_requeue(a: argparse.Namespace) -> int:
    with hub_of(a) as hub:
        _known_agent(hub, a.agent)
        n = hub.bus.requeue(a.ids or None, agent=a.agent)
    emit(
        a,
        {"agent": a.agent, "requeued": n},
        f"{a.agent}: {n:,} dead letter{'s' if n != 1 else ''} back in the inbox",
    )
    return 0


@guarded
def cmd_events_tail(a: argparse.Namespace) -> int:
    # SIGTERM stops like Ctrl-C (a process manager's stop), without a traceback.
    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        with hub_of(a) as hub:
            sub = hub.events.subscribe(*a.channels, after=a.after)
            if not a.json:
                print(
                    f"following {', '.join(a.channels) or 'every channel'} (Ctrl-C stops)",
                    file=sys.stderr,
                    flush=True,
                )
            with sub:
                while True:
                    ev = sub.get(timeout=0.25)
                    if ev is None:
                        continue
                    t = time.strftime("%H:%M:%S", time.localtime(ev.time))
                    emit(
                        a,
                        {"id": ev.id, "channel": ev.channel, "data": ev.data, "ts": ev.time},
                        f"{ev.id:<20} {t}.{int(ev.time * 1000) % 1000:03d}  {ev.channel:<24} "
                        f"{short(ev.data, 200)}",
                    )
    except KeyboardInterrupt:
        return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "info",
        help="queues, workers, bus agents, event log and sync of a namespace",
        description=(
            "One look at a namespace: jobs by kind and state, the workers and their beats "
            "(LOST: missed 3 beats), bus agents with pending messages and dead letters, the "
            "event log, the file sync. --json prints one object (the HTTP service's /status)."
        ),
    )
    store_options(p)
    p.set_defaults(fn=cmd_info)

    bus = sub.add_parser("bus", help="pending messages and dead letters of bus agents")
    bs = bus.add_subparsers(dest="bus_command", required=True, metavar="COMMAND")
    p = bs.add_parser(
        "pending",
        help="an agent's unacknowledged messages",
        description="Shows how many messages AGENT has not acknowledged, and the most urgent.",
    )
    store_options(p)
    p.add_argument("agent", metavar="AGENT")
    p.add_argument("--count", type=positive, default=20, help="most messages to show (default 20)")
    p.set_defaults(fn=cmd_bus_pending)
    p = bs.add_parser(
        "requeue",
        help="an agent's dead letters back to its inbox",
        description=(
            "Puts AGENT's dead letters (all, or the ids given) back into its inbox as new "
            "messages; their deliveries start again."
        ),
    )
    store_options(p)
    p.add_argument("agent", metavar="AGENT")
    p.add_argument("ids", nargs="*", metavar="ID", help="dead letter ids (default: all)")
    p.set_defaults(fn=cmd_bus_requeue)

    ev = sub.add_parser("events", help="follow the event log")
    es = ev.add_subparsers(dest="events_command", required=True, metavar="COMMAND")
    p = es.add_parser(
        "tail",
        help="print events as they are published, until Ctrl-C",
        description=(
            "Prints the events of CHANNELs (names or patterns with * and ?; none: every "
            "channel) as they are published, until Ctrl-C (exit 0). --after ID starts after "
            "that event id (0: from the oldest retained) instead of now."
        ),
    )
    store_options(p)
    p.add_argument("channels", nargs="*", metavar="CHANNEL")
    p.add_argument("--after", default=None, metavar="ID", help="start after this event id")
    p.set_defaults(fn=cmd_events_tail)
