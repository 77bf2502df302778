"""``zerolag archive --dsn DSN``: the archiver as a process of its own (docs/archive.md).

It opens the store, attaches the PostgreSQL archive (creating or migrating its tables),
prints a line when its state changes (at most every 10 s; ``--json``: the health as JSON,
``-q``: nothing), and runs until SIGTERM or SIGINT; then it detaches (the lease is released,
the cursors stay) and exits 0. Any number may run: one per namespace holds the lease and
works, the others stand by and take over when it goes.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import types
from typing import Any

from .cli_ops import hub_of, store_options

log = logging.getLogger("zerolag.archive")

REPORT_EVERY = 10.0  # seconds between progress lines (when something changed)


def add_parser(sub: Any) -> None:
    """The ``archive`` subcommand."""
    p = sub.add_parser(
        "archive",
        help="copy the namespace into a PostgreSQL archive until stopped (SIGTERM/SIGINT)",
        description=(
            "Attach the PostgreSQL archive at --dsn to the store's namespace and archive in the "
            "background until SIGTERM or SIGINT, then detach cleanly (exit 0). One archiver "
            "per namespace works at a time; others stand by."
        ),
    )
    p.add_argument(
        "--dsn",
        required=True,
        help="PostgreSQL DSN: postgresql://user@host:port/db or key=value pairs",
    )
    p.add_argument("--batch", type=int, default=5000, help="rows per batch (default 5000)")
    p.add_argument(
        "--poll", type=float, default=0.1, help="seconds an idle archiver waits (default 0.1)"
    )
    store_options(p)
    p.set_defaults(fn=run)


def _line(h: dict[str, Any]) -> str:
    done = sum(h["archived"].values())
    lost = sum(h["lost"].values())
    text = f"{h['message']}; archived {done} rows"
    if lost:
        text += f", {lost} lost to retention"
    if h["last_error"]:
        text += f"; last error: {h['last_error']}"
    return text


def run(a: argparse.Namespace) -> int:
    """Runs the archiver until SIGTERM/SIGINT; exit code 0."""
    stop = threading.Event()

    def on_signal(signum: int, frame: types.FrameType | None) -> None:
        stop.set()

    def say(text: str, h: dict[str, Any] | None = None) -> None:
        if a.json and h is not None:
            print(json.dumps(h), flush=True)
        elif not getattr(a, "quiet", 0):
            print(f"zerolag archive: {text}", flush=True)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with hub_of(a) as hub:
            hub.archive.attach(a.dsn, batch=a.batch, poll=a.poll)
            say(f"archiving namespace {hub.namespace!r} (SIGTERM or Ctrl-C stops)")
            last: tuple[Any, ...] | None = None
            while not stop.wait(REPORT_EVERY if last is not None else 1.0):
                h = hub.archive.health()
                key = (h["status"], h["behind"], sum(h["archived"].values()), h["last_error"])
                if key != last:
                    say(_line(h), h)
                    if h["status"] == "degraded":
                        log.warning("%s", _line(h))
                    last = key
            hub.archive.detach()
            say("archiver stopped (lease released)")
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return 0
