"""A DualLoop for worker subprocesses (``zerolag worker loop_app:make``).

The ``tc`` handler records each attempt in ``$ZL_LOOP_LOG.<pid>`` (one O_APPEND line per
attempt, so a SIGKILL never leaves half a line). Titles containing ``slow`` sleep for a long
time on their first attempt (a worker to kill mid-command) and finish at once afterwards.
"""

from __future__ import annotations

import os
import time
from typing import Any

import zerolag
from zerolag.llm import RuleBasedFrontend


def _log(text: str) -> None:
    path = os.environ.get("ZL_LOOP_LOG")
    if path:
        fd = os.open(f"{path}.{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, f"{text}\n".encode())
        finally:
            os.close(fd)


def make(hub: zerolag.Hub) -> zerolag.DualLoop:
    loop = zerolag.DualLoop(hub, frontend=RuleBasedFrontend())

    @loop.command("tc", max_attempts=3, backoff=0.05)
    def create(cmd: Any, ctx: zerolag.CommandContext) -> Any:
        _log(f"{ctx.job.id} {ctx.attempt}")
        ctx.progress(0.1)
        if "slow" in cmd.title.lower() and ctx.attempt == 1:
            time.sleep(60)
        return {"title": cmd.title, "attempt": ctx.attempt, "pid": os.getpid()}

    return loop
