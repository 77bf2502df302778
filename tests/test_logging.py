"""Logging through Python's ``logging`` (logger ``zerolag``) on every backend: worker start and
stop, a failing handler's traceback (WARNING, ERROR once the job is dead), retries at INFO,
no payload or result in any INFO+ record, quiet by default, and a Rust-side event (a lost and
restored Redis connection) forwarded to the ``zerolag`` logger."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from typing import Any

import pytest
import zerolag
from servers import RedisServer

SECRET = "sk-live-7f3a9c1e-THE-SECRET"


def records(caplog: pytest.LogCaptureFixture, name: str = "zerolag") -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name or r.name.startswith(name + ".")]


def boom(ctx: Any) -> None:
    raise ValueError("handler broke on purpose")


def test_failing_handler_logs_its_traceback_and_dead_job_logs_error(
    hub: zerolag.Hub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zerolag")
    retried = hub.jobs.enqueue("work", {"key": SECRET}, max_attempts=3, backoff=0.05)
    dead = hub.jobs.enqueue("work", {"key": SECRET}, max_attempts=1)
    w = hub.jobs.worker({"work": boom}, name="w1")
    w.run(burst=True)
    time.sleep(0.1)  # the retry is due
    w.run(burst=True)
    recs = records(caplog, "zerolag.jobs")
    fails = [r for r in recs if "failed on attempt" in r.getMessage()]
    by_job: dict[str, list[logging.LogRecord]] = {}
    for r in fails:
        by_job.setdefault(r.job_id, []).append(r)  # type: ignore[attr-defined]
    # The job with attempts left: WARNING with the traceback, then its retry at INFO.
    first = by_job[retried.id][0]
    assert first.levelno == logging.WARNING
    assert first.exc_info is not None and first.exc_info[0] is ValueError
    text = logging.Formatter().format(first)
    assert "Traceback" in text and "handler broke on purpose" in text and "in boom" in text
    assert any(
        r.levelno == logging.INFO and "retry: attempt 2 of 3" in r.getMessage() for r in recs
    )
    # The job out of attempts: ERROR, with the traceback.
    (last,) = by_job[dead.id]
    assert last.levelno == logging.ERROR
    assert last.exc_info is not None and "dead" in last.getMessage()
    # Start and stop at INFO.
    msgs = [r.getMessage() for r in recs if r.levelno == logging.INFO]
    assert any(m.startswith("worker w1 started") for m in msgs)
    assert any(m.startswith("worker w1 stopped") for m in msgs)


def test_no_payload_or_result_at_info_or_above(
    hub: zerolag.Hub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state = {"n": 0}

    def flaky(ctx: Any) -> dict[str, str]:
        state["n"] += 1
        if state["n"] % 2:
            raise RuntimeError("transient failure")
        return {"token": SECRET}

    for _ in range(4):
        hub.jobs.enqueue("work", {"api_key": SECRET}, max_attempts=2, backoff=0.01)
    w = hub.jobs.worker({"work": flaky}, name="w2")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        w.run(burst=True)
        left = hub.jobs.counts()
        if all(r["state"] in ("succeeded", "dead") for r in left):
            break
        time.sleep(0.02)
    assert records(caplog, "zerolag.jobs"), "the worker logged nothing"
    formatter = logging.Formatter()
    for r in caplog.records:
        if r.levelno >= logging.INFO:
            assert SECRET not in formatter.format(r), r.getMessage()


def test_async_worker_logs(
    hub: zerolag.Hub, arun: Any, async_hub: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zerolag")

    async def go() -> None:
        await async_hub.jobs.enqueue("work", {"key": SECRET}, max_attempts=1)
        await async_hub.jobs.worker({"work": boom}, name="w3").run_async(burst=True)

    arun(go())
    recs = records(caplog, "zerolag.jobs")
    (dead,) = [r for r in recs if "failed on attempt" in r.getMessage()]
    assert dead.levelno == logging.ERROR and dead.exc_info is not None
    assert any(r.getMessage().startswith("worker w3 started") for r in recs)
    assert any(r.getMessage().startswith("worker w3 stopped") for r in recs)


def test_quiet_by_default() -> None:
    # A fresh interpreter with no logging configured: a failing job prints nothing (the
    # NullHandler keeps Python's last-resort handler from printing WARNING and above).
    code = (
        "import tempfile, zerolag\n"
        "h = zerolag.open(root=tempfile.mkdtemp())\n"
        "h.jobs.enqueue('k', 1, max_attempts=1)\n"
        "def f(ctx): raise ValueError('x')\n"
        "h.jobs.worker({'k': f}).run(burst=True)\n"
        "assert h.jobs.counts()[0]['state'] == 'dead'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == "", (out.stdout, out.stderr)


def wait_for(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 20) -> logging.LogRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in caplog.records:
            if text in r.getMessage():
                return r
        time.sleep(0.05)
    raise AssertionError(f"no record with {text!r}: {[r.getMessage() for r in caplog.records]}")


def test_rust_side_reconnect_reaches_the_zerolag_logger(
    make_redis_server: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zerolag")
    server: RedisServer = make_redis_server()
    with zerolag.open(server.url, root=tmp_path, namespace="logtest") as hub:
        hub.kv.set("a", "1")
        server.restart(kill=True, down_for=0.2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                hub.kv.get("a")  # the data may be gone (no persistence): any answer will do
                break
            except (zerolag.ConnectionError, zerolag.TimeoutError):
                time.sleep(0.05)
        lost = wait_for(caplog, "lost a connection to Redis")
        back = wait_for(caplog, "reconnected to Redis")
    assert lost.name == back.name == "zerolag.engine.redis"
    assert lost.levelno == logging.WARNING and back.levelno == logging.INFO
