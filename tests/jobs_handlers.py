"""Job handlers for worker subprocesses (``zerolag worker jobs_handlers:HANDLERS``).

With ``ZL_JOBS_LOG=<path>`` in the environment every execution appends the job id to
``<path>.<pid>`` (one O_APPEND write per line, so a SIGKILL never leaves half a line), which
lets crash tests count how often each job ran.
"""

from __future__ import annotations

import os
import time
from typing import Any

_fd: int | None = None


def _log(ctx: Any) -> None:
    global _fd
    path = os.environ.get("ZL_JOBS_LOG")
    if not path:
        return
    if _fd is None:
        _fd = os.open(f"{path}.{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(_fd, f"{ctx.id}\n".encode())


def noop(ctx: Any) -> None:
    _log(ctx)


def slow(ctx: Any) -> Any:
    time.sleep(float(ctx.payload.get("sleep", 0.01)))
    _log(ctx)
    return ctx.payload.get("n")


def add(ctx: Any) -> Any:
    return ctx.payload["a"] + ctx.payload["b"]


HANDLERS = {"noop": noop, "slow": slow, "add": add}


def make_worker(hub: Any) -> Any:
    """A Worker factory (``zerolag worker jobs_handlers:make_worker``)."""
    return hub.jobs.worker(HANDLERS, concurrency=2, visibility=5.0)
