"""``zerolag jobs list | show | requeue | purge | cancel`` (docs/cli.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from .cli_ops import (
    BadInput,
    Progress,
    ago,
    duration,
    emit,
    guarded,
    hub_of,
    positive,
    short,
    store_options,
)

# What `--state` names, as (queue of hub.jobs.list, status filter).
STATES: dict[str, tuple[str, str | None]] = {
    "ready": ("ready", None),
    "delayed": ("delayed", None),
    "failed": ("delayed", "failed"),
    "running": ("running", None),
    "finished": ("finished", None),
    "succeeded": ("finished", "succeeded"),
    "dead": ("finished", "dead"),
    "cancelled": ("finished", "cancelled"),
}
PAGE = 1000  # jobs per page read; most ids one requeue or purge call moves


def job_dict(j: Any) -> dict[str, Any]:
    """A job as JSON."""
    return {
        "id": j.id,
        "kind": j.kind,
        "status": j.status,
        "priority": j.priority,
        "attempts": j.attempts,
        "max_attempts": j.max_attempts,
        "backoff": list(j.backoff),
        "timeout": j.timeout,
        "run_at": j.run_at,
        "created_at": j.created_at,
        "started_at": j.started_at,
        "finished_at": j.finished_at,
        "payload": j.payload,
        "result": j.result,
        "error": j.error,
        "progress": j.progress,
        "idempotency_key": j.idempotency_key,
        "worker": j.worker,
    }


def _kinds(hub: Any) -> list[str]:
    """The kinds that have ready jobs (ready jobs are queued per kind)."""
    return sorted({c["kind"] for c in hub.jobs.counts() if c["state"] == "ready"})


def _pages(hub: Any, queue: str, kind: str | None, status: str | None) -> Iterator[Any]:
    cursor = None
    while True:
        page = hub.jobs.list(queue, kind=kind, status=status, limit=PAGE, cursor=cursor)
        yield from page
        cursor = page.next_cursor
        if cursor is None:
            return


def _listing(hub: Any, state: str | None, kind: str | None) -> Iterator[Any]:
    states = [state] if state else ["ready", "delayed", "running", "finished"]
    for s in states:
        queue, status = STATES[s]
        if queue == "ready":
            for k in [kind] if kind else _kinds(hub):
                yield from _pages(hub, queue, k, status)
        else:
            yield from _pages(hub, queue, kind, status)


def _row(j: Any, now: float) -> str:
    when = {
        "pending": j.run_at if j.run_at > now else j.created_at,
        "failed": j.run_at,
        "running": j.started_at,
    }.get(j.status, j.finished_at)
    err = short(j.error.splitlines()[-1], 50) if j.error else ""
    return (
        f"{j.id:<28}  {j.kind:<16}  {j.status:<9}  {j.attempts:>3}/{j.max_attempts:<3}  "
        f"{j.priority:>5}  {ago(when, now):>10}  {err}"
    ).rstrip()


@guarded
def cmd_list(a: argparse.Namespace) -> int:
    progress = Progress("listed")
    n = 0
    now = time.time()
    with hub_of(a) as hub:
        if not a.json:
            print(
                f"{'ID':<28}  {'KIND':<16}  {'STATUS':<9}  {'TRIES':<7}  {'PRIO':>5}  "
                f"{'WHEN':>10}  ERROR"
            )
        for j in _listing(hub, a.state, a.kind):
            if a.limit and n >= a.limit:
                break
            emit(a, job_dict(j), _row(j, now))
            n += 1
            progress.add(1)
    progress.done()
    return 0


@guarded
def cmd_show(a: argparse.Namespace) -> int:
    with hub_of(a) as hub:
        j = hub.jobs.get(a.id)
    d = job_dict(j)
    if a.json:
        emit(a, d)
        return 0
    width = max(len(k) for k in d)
    for k, v in d.items():
        if k in ("payload", "result", "progress") and v is not None:
            text = json.dumps(v, indent=2, default=str).replace("\n", "\n" + " " * (width + 2))
        elif k.endswith("_at") and v is not None:
            text = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(v))} ({ago(v)})"
        elif k == "backoff":
            text = f"{v[0]}, base {v[1]:g} s"
        elif k == "error" and v:
            text = str(v).replace("\n", "\n" + " " * (width + 2))
        else:
            text = "-" if v is None else str(v)
        print(f"{k:>{width}}  {text}")
    return 0


@guarded
def cmd_requeue(a: argparse.Namespace) -> int:
    if a.ids and (a.kind or a.all or a.limit):
        raise BadInput("give job ids, or --kind / --all (and --limit), not both")
    if not a.ids and not (a.kind or a.all):
        raise BadInput(
            "name the jobs to requeue: job ids, --kind KIND (its dead jobs) or --all "
            "(every dead job)"
        )
    progress = Progress("requeued")
    total = 0
    with hub_of(a) as hub:
        if a.ids:
            for i in range(0, len(a.ids), PAGE):
                n = hub.jobs.requeue(a.ids[i : i + PAGE])
                total += n
                progress.add(n)
        else:
            while True:
                want = PAGE if not a.limit else min(PAGE, a.limit - total)
                n = hub.jobs.requeue(kind=a.kind, limit=want)
                total += n
                progress.add(n)
                if n < want or (a.limit and total >= a.limit):
                    break
    progress.done()
    emit(a, {"requeued": total}, f"requeued {total:,} job{'s' if total != 1 else ''}")
    if a.ids and total < len(set(a.ids)):
        skipped = len(set(a.ids)) - total
        if not a.json:
            print(
                f"zerolag: {skipped} of the ids named no dead or cancelled job (left alone)",
                file=sys.stderr,
            )
        return 1
    return 0


@guarded
def cmd_purge(a: argparse.Namespace) -> int:
    progress = Progress("purged")
    total = 0
    with hub_of(a) as hub:
        while True:
            n = hub.jobs.purge(a.older_than, limit=PAGE)
            total += n
            progress.add(n)
            if n < PAGE:
                break
    progress.done()
    emit(a, {"purged": total}, f"purged {total:,} finished job{'s' if total != 1 else ''}")
    return 0


@guarded
def cmd_cancel(a: argparse.Namespace) -> int:
    code = 0
    with hub_of(a) as hub:
        for id_ in a.ids:
            if hub.jobs.cancel(id_):
                emit(a, {"id": id_, "cancelled": True}, f"{id_}: cancelled")
            else:
                status = hub.jobs.get(id_).status
                emit(a, {"id": id_, "cancelled": False, "status": status})
                if not a.json:
                    print(f"zerolag: {id_} had already finished ({status})", file=sys.stderr)
                code = 1
    return code


def add_parsers(sub: Any) -> None:
    jobs = sub.add_parser(
        "jobs",
        help="list, show, requeue, purge and cancel jobs",
        description="Inspect and manage the job queue (hub.jobs) of a store and namespace.",
    )
    js = jobs.add_subparsers(dest="jobs_command", required=True, metavar="COMMAND")
    p = js.add_parser(
        "list",
        help="list jobs by state and kind",
        description=(
            "Lists jobs in the order workers see them: ready (highest priority first), "
            "delayed (soonest first), running (earliest deadline first), finished (newest "
            "first). Without --state, every state in that order."
        ),
    )
    store_options(p)
    p.add_argument("--state", choices=list(STATES), default=None, help="only jobs in this state")
    p.add_argument("--kind", default=None, help="only jobs of this kind")
    p.add_argument(
        "--limit", type=positive, default=1000, help="most jobs to list (default 1000; 0: all)"
    )
    p.set_defaults(fn=cmd_list)
    p = js.add_parser("show", help="one job in full", description="Shows one job in full.")
    store_options(p)
    p.add_argument("id", help="job id")
    p.set_defaults(fn=cmd_show)
    p = js.add_parser(
        "requeue",
        help="dead jobs back to their queue",
        description=(
            "Puts dead jobs back in their ready queue with their attempts from zero: the jobs "
            "named (dead or cancelled ones), or with --kind the dead jobs of that kind, or "
            "with --all every dead job. Exits 1 when a named job was not dead or cancelled."
        ),
    )
    store_options(p)
    p.add_argument("ids", nargs="*", metavar="ID", help="job ids")
    p.add_argument("--kind", default=None, help="requeue the dead jobs of this kind")
    p.add_argument("--all", action="store_true", help="requeue every dead job")
    p.add_argument(
        "--limit", type=positive, default=0, help="with --kind/--all: most to requeue (0: all)"
    )
    p.set_defaults(fn=cmd_requeue)
    p = js.add_parser(
        "purge",
        help="delete finished jobs",
        description=(
            "Deletes succeeded, dead and cancelled jobs (with their idempotency keys), oldest "
            "first: all of them, or those that finished longer ago than --older-than."
        ),
    )
    store_options(p)
    p.add_argument(
        "--older-than",
        type=duration,
        default=0.0,
        metavar="AGE",
        help="only jobs finished longer ago than AGE (seconds, or 30m, 12h, 7d)",
    )
    p.set_defaults(fn=cmd_purge)
    p = js.add_parser(
        "cancel",
        help="cancel jobs that have not finished",
        description=(
            "Cancels jobs that have not finished (a running job's worker drops its result). "
            "Exits 1 when one had already finished, and for an unknown id."
        ),
    )
    store_options(p)
    p.add_argument("ids", nargs="+", metavar="ID", help="job ids")
    p.set_defaults(fn=cmd_cancel)
