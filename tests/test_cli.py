"""The operations commands of ``zerolag`` (info, jobs, bus, events) as subprocesses against
every backend (the embedded store is shared through --root): their output, their JSON, the
exit codes and one-line errors on bad input, the progress line on a terminal only, and
``events tail`` following until SIGINT."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import zerolag


class Cli:
    """Runs ``python -m zerolag`` on the test's store: the URL through ``$ZEROLAG_URL`` (or
    ``--url`` with ``url_flag``), the namespace through ``$ZEROLAG_NAMESPACE``."""

    def __init__(self, url: str | None, root: Path, ns: str) -> None:
        self.url, self.root, self.ns = url, root, ns
        self.env = {**os.environ, "ZEROLAG_NAMESPACE": ns}
        self.env.pop("ZEROLAG_URL", None)
        if url:
            self.env["ZEROLAG_URL"] = url

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "zerolag", *args, "--root", str(self.root)]

    def __call__(self, *args: str, code: int = 0, **kw: Any) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(
            self.argv(*args), env=self.env, capture_output=True, text=True, timeout=120, **kw
        )
        assert p.returncode == code, (args, p.returncode, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr, p.stderr
        if code and "--json" not in args:
            # One line that says what went wrong (after argparse's usage for a bad option).
            lines = p.stderr.strip().splitlines()
            assert len(lines) == 1 or lines[0].startswith("usage:"), p.stderr
            assert lines[-1].startswith("zerolag"), p.stderr
        return p

    def lines(self, *args: str, code: int = 0) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self(*args, "--json", code=code).stdout.splitlines()]


@pytest.fixture
def cli(store_url: str | None, tmp_path: Path, namespace: str) -> Cli:
    return Cli(store_url, tmp_path, namespace)


def dead_job(hub: zerolag.Hub, kind: str) -> str:
    job = hub.jobs.enqueue(kind, {"n": 1}, max_attempts=1)
    (c,) = hub.jobs.claim(kind)
    hub.jobs.fail(c, "ValueError: no\nsecond line")
    return job.id


def test_info(hub: zerolag.Hub, cli: Cli) -> None:
    dead_job(hub, "resize")
    hub.jobs.enqueue_many([{"kind": "email"}, {"kind": "email"}, {"kind": "resize"}])
    hub.jobs.register_worker("w-1", kinds=["email"], interval=30, host="box", pid=99)
    hub.bus.register("planner")
    hub.bus.register("coder")
    hub.bus.share("planner", "coder", {"do": "it"})
    ev = hub.events.publish("task:x", {"a": 1})
    (s,) = cli.lines("info")
    assert s["ok"] is True and s["namespace"] == cli.ns
    assert s["backend"] == hub.backend
    assert s["version"] == zerolag.__version__
    (w,) = s["workers"]
    assert (w["id"], w["host"], w["pid"], w["kinds"], w["lost"]) == (
        "w-1",
        "box",
        99,
        ["email"],
        False,
    )
    agents = {a["agent"]: a for a in s["bus"]["agents"]}
    assert agents["coder"] == {"agent": "coder", "pending": 1, "dead": 0}
    assert s["events"] == {"count": 1, "last_id": ev.id}
    assert s["sync"]["running"] is False
    got = {(c["kind"], c["state"]): c["count"] for c in s["jobs"]["counts"]}
    assert got == {("email", "ready"): 2, ("resize", "ready"): 1, ("resize", "dead"): 1}
    out = cli("info").stdout
    for word in ("w-1", "box:99", "coder", ev.id, cli.ns):
        assert word in out, out
    # --url works as $ZEROLAG_URL does, and a namespace with nothing in it is fine.
    env_less = Cli(None, cli.root, "empty-ns")
    args = ["info", "--json"] + (["--url", cli.url] if cli.url else [])
    (e,) = [json.loads(x) for x in env_less(*args).stdout.splitlines()]
    assert e["namespace"] == "empty-ns" and e["workers"] == [] and e["events"]["count"] == 0


def test_jobs_list_and_show(hub: zerolag.Hub, cli: Cli) -> None:
    ready = hub.jobs.enqueue_many([{"kind": "email", "payload": i} for i in range(3)])
    extra = [hub.jobs.enqueue("email", 9, priority=5).id, hub.jobs.enqueue("pdf", 1).id]
    gone = dead_job(hub, "resize")
    rows = cli.lines("jobs", "list", "--state", "ready", "--kind", "email")
    assert [r["payload"] for r in rows] == [9, 0, 1, 2]  # the order workers see
    assert rows[1]["id"] == ready[0].id and rows[1]["status"] == "pending"
    (d,) = cli.lines("jobs", "list", "--state", "dead")
    assert (d["id"], d["kind"], d["attempts"]) == (gone, "resize", 1)
    assert cli.lines("jobs", "list", "--state", "dead", "--kind", "email") == []
    assert len(cli.lines("jobs", "list", "--kind", "email", "--limit", "2")) == 2
    every = cli.lines("jobs", "list")  # every state, the ready jobs of every kind
    assert sorted(r["id"] for r in every) == sorted([*(j.id for j in ready), *extra, gone])
    out = cli("jobs", "list", "--state", "dead").stdout
    assert gone in out and "second line" in out and "ValueError" not in out.split(gone)[0]
    (j,) = cli.lines("jobs", "show", gone)
    assert (j["status"], j["error"], j["payload"]) == (
        "dead",
        "ValueError: no\nsecond line",
        {"n": 1},
    )
    out = cli("jobs", "show", gone).stdout
    assert "status  dead" in out and "second line" in out
    p = cli("jobs", "show", "j-nope", code=1)
    assert "j-nope" in p.stderr
    cli("jobs", "show", "bad id!", code=2)
    cli("jobs", "list", "--state", "bogus", code=2)
    cli("jobs", "list", "--limit", "-1", code=2)
    cli("jobs", "list", "--kind", "no*", code=2)


def test_listing_thousands_pages_and_prints_nothing_on_a_pipe(hub: zerolag.Hub, cli: Cli) -> None:
    for i in range(0, 2500, 1000):
        hub.jobs.enqueue_many(
            [{"kind": "bulk", "payload": k} for k in range(i, min(i + 1000, 2500))]
        )
    p = cli("jobs", "list", "--kind", "bulk", "--state", "ready", "--limit", "0", "--json")
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    assert [r["payload"] for r in rows] == list(range(2500))
    assert p.stderr == ""  # no progress line when stderr is not a terminal


def test_progress_shows_on_a_terminal(hub: zerolag.Hub, cli: Cli) -> None:
    for i in range(0, 2500, 1000):
        jobs = hub.jobs.enqueue_many(
            [{"kind": "p", "max_attempts": 1} for _ in range(min(1000, 2500 - i))]
        )
        claims = hub.jobs.claim("p", count=1000)
        hub.jobs._finish([(c.id, c.token, "dead", "boom") for c in claims])
        assert len(claims) == len(jobs)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            cli.argv("jobs", "requeue", "--all"),
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
        )
        os.close(slave)
        slave = -1
        out, _ = proc.communicate(timeout=120)
        seen = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert out.strip() == "requeued 2,500 jobs"
    assert b"requeued " in seen  # the counting line, on the terminal


def test_jobs_requeue_purge_cancel(hub: zerolag.Hub, cli: Cli) -> None:
    a, b, c = dead_job(hub, "a"), dead_job(hub, "a"), dead_job(hub, "b")
    assert cli("jobs", "requeue", a).stdout.strip() == "requeued 1 job"
    assert hub.jobs.get(a).status == "pending"
    p = cli("jobs", "requeue", a, code=1)  # no longer dead: left alone, and said so
    assert "requeued 0 jobs" in p.stdout
    assert cli.lines("jobs", "requeue", "--kind", "b") == [{"requeued": 1}]
    assert hub.jobs.get(c).status == "pending" and hub.jobs.get(b).status == "dead"
    assert cli.lines("jobs", "requeue", "--all") == [{"requeued": 1}]
    cli("jobs", "requeue", code=2)  # nothing named
    cli("jobs", "requeue", a, "--all", code=2)
    # cancel: a pending job, then again (finished), then an unknown one.
    assert cli.lines("jobs", "cancel", a) == [{"id": a, "cancelled": True}]
    p = cli("jobs", "cancel", a, code=1)
    assert "already finished (cancelled)" in p.stderr and p.stdout == ""
    assert cli.lines("jobs", "cancel", a, code=1) == [
        {"id": a, "cancelled": False, "status": "cancelled"}
    ]
    cli("jobs", "cancel", "j-nope", code=1)
    # purge: nothing older than an hour, then every finished job.
    assert cli.lines("jobs", "purge", "--older-than", "1h") == [{"purged": 0}]
    assert cli("jobs", "purge").stdout.strip() == "purged 1 finished job"
    with pytest.raises(zerolag.NotFoundError):
        hub.jobs.get(a)
    cli("jobs", "purge", "--older-than", "soon", code=2)


def test_bus_pending_and_requeue(hub: zerolag.Hub, cli: Cli) -> None:
    hub.bus.register("planner")
    hub.bus.register("coder")
    for i in range(3):
        hub.bus.share("planner", "coder", {"step": i}, priority="high" if i == 2 else "medium")
    rows = cli.lines("bus", "pending", "coder")
    assert [r["payload"] for r in rows] == [{"step": 2}, {"step": 0}, {"step": 1}]
    assert rows[0]["source"] == "planner" and rows[0]["priority"] == "high"
    out = cli("bus", "pending", "coder", "--count", "1").stdout
    assert out.startswith("coder: 3 pending (showing 1)") and '{"step": 2}' in out
    p = cli("bus", "pending", "nobody", code=1)
    assert "nobody" in p.stderr
    # A message handed out until it dies, then requeued from the command line.
    hub.bus.consume("coder", group="g", consumer="c1", count=3, claim_idle_ms=1, max_deliveries=1)
    time.sleep(0.01)
    hub.bus.consume("coder", group="g", consumer="c2", count=3, claim_idle_ms=1, max_deliveries=1)
    deadn = len(hub.bus.dead_letters("coder"))
    assert deadn > 0
    (s,) = cli.lines("info")
    (coder,) = [a for a in s["bus"]["agents"] if a["agent"] == "coder"]
    assert coder["dead"] == deadn
    assert cli.lines("bus", "requeue", "coder") == [{"agent": "coder", "requeued": deadn}]
    assert hub.bus.dead_letters("coder") == []
    cli("bus", "requeue", "nobody", code=1)


def test_events_tail_follows_until_sigint(hub: zerolag.Hub, cli: Cli) -> None:
    before = hub.events.publish("task:old", 0)
    proc = subprocess.Popen(
        cli.argv("events", "tail", "task:*", "--after", "0", "--json"),
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert (first["id"], first["channel"], first["data"]) == (before.id, "task:old", 0)
        assert isinstance(first["ts"], float)
        hub.events.publish("other:x", 1)
        sent = [hub.events.publish("task:new", {"i": i}) for i in range(3)]
        got = [json.loads(proc.stdout.readline()) for _ in sent]
        assert [g["id"] for g in got] == [e.id for e in sent]
        assert [g["data"] for g in got] == [{"i": 0}, {"i": 1}, {"i": 2}]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert out == ""  # nothing after the three, and other:x was never printed


def test_events_tail_from_now_in_text(hub: zerolag.Hub, cli: Cli) -> None:
    hub.events.publish("a:old", 0)
    proc = subprocess.Popen(
        cli.argv("events", "tail"),
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        assert "Ctrl-C" in proc.stderr.readline()  # subscribed: what follows is new
        ev = hub.events.publish("a:new", {"x": 1})
        line = proc.stdout.readline()
        assert line.startswith(ev.id) and "a:new" in line and '{"x": 1}' in line
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in err
    assert "a:old" not in out


def test_bad_input_and_unreachable_store(cli: Cli) -> None:
    cli("events", "tail", "bad channel", code=2)
    cli("jobs", "requeue", "--kind", "a b", code=2)
    p = subprocess.run(
        [sys.executable, "-m", "zerolag", "info", "--url", "redis://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = subprocess.run(
        [sys.executable, "-m", "zerolag", "jobs"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_verbosity_flags(cli: Cli) -> None:
    # -v / -q before or after the command; both reach the logger "zerolag".
    code = (
        "import logging, sys; from zerolag import cli_ops, cli;"
        "import argparse;"
        "orig = cli_ops.setup;"
        "cli_ops.setup = lambda a: (orig(a), print(logging.getLogger('zerolag').level));"
        "sys.exit(cli.main(sys.argv[1:]))"
    )
    levels = []
    for args in (["info"], ["-v", "info"], ["info", "-vv"], ["info", "-q"]):
        p = subprocess.run(
            [sys.executable, "-c", code, *args, "--json", "--root", str(cli.root)],
            env=cli.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr
        levels.append(int(p.stdout.splitlines()[0]))
    assert levels == [30, 20, 10, 40]
