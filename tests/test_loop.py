"""DualLoop on every backend: dispatch, backend events, retries, injection, backend down,
isolation of sessions, async forms, and a worker process killed mid-command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import zerolag
from zerolag import protocol
from zerolag.llm import RuleBasedFrontend

HERE = Path(__file__).resolve().parent


def scripted(*replies: str) -> Any:
    """A model answering with ``replies`` in turn (the last one repeated)."""
    box = list(replies)

    def model(messages: list[dict[str, str]]) -> str:
        return box.pop(0) if len(box) > 1 else box[0]

    return model


def make_loop(hub: zerolag.Hub, frontend: Any = None, **kw: Any) -> zerolag.DualLoop:
    loop = zerolag.DualLoop(hub, frontend or RuleBasedFrontend(), **kw)

    @loop.command("tc")
    def create(cmd: protocol.TaskCreate, ctx: zerolag.CommandContext) -> Any:
        ctx.progress(0.5)
        ctx.update_task(status="done", progress=1.0)
        return {"title": cmd.title}

    @loop.command("cl")
    def load(cmd: protocol.ContextLoad, ctx: zerolag.CommandContext) -> str:
        return f"summary of {cmd.context_id}"

    return loop


def kinds(events: list[zerolag.LoopEvent]) -> list[str]:
    return [e.kind for e in events]


def test_send_dispatches_and_events_come_back(hub: zerolag.Hub) -> None:
    loop = make_loop(hub)
    r = loop.send("s1", "Create an auth system for the app")
    assert r.ok and len(r.commands) == 1 and len(r.jobs) == 1
    cmd = r.commands[0]
    assert isinstance(cmd, protocol.TaskCreate) and cmd.intent == "auth_implementation"
    assert "[tc:" not in r.text and "stand-in" in r.text
    (tid,) = r.task_ids
    task = hub.tasks.get(tid)  # indexed at once, with the handoff's keywords
    assert task.intent == "auth_implementation" and "auth" in task.keywords
    assert hub.jobs.get(r.jobs[0]).status == "pending"
    assert r.timings.overhead_ms > 0 and r.timings.total_ms >= r.timings.overhead_ms
    assert "queued" in " ".join(loop.status("s1"))

    stats = loop.run_backend(concurrency=2, burst=True)
    assert stats.succeeded == 1
    evs = loop.history("s1")
    assert kinds(evs) == ["su", "su", "tc"]
    assert all(e.job == r.jobs[0] and e.session == "s1" for e in evs)
    assert evs[0].event == protocol.StatusUpdate(tid, "started", 0.0)
    assert evs[1].event == protocol.StatusUpdate(tid, "in_progress", 0.5)
    done = evs[2].event
    assert isinstance(done, protocol.TaskComplete) and done.result == {"title": cmd.title}
    assert hub.tasks.get(tid).status == "done"
    assert hub.jobs.get(r.jobs[0]).status == "succeeded"
    # The next prompt carries what happened, without the frontend calling anything.
    prompt = loop.prompt("s1", "status?")[0]["content"]
    assert f"[{tid}]: done" in prompt and "# Recent commands" in prompt
    r2 = loop.send("s1", "what's the status?")
    assert not r2.commands and "done" in r2.text

    # A context load comes back as a typed cl event.
    r3 = loop.send("s1", "What did we discuss yesterday?")
    assert [c.kind for c in r3.commands] == ["cl"]
    loop.run_backend(burst=True)
    last = loop.history("s1")[-1]
    assert last.event == protocol.ContextLoaded("conversation", "summary of conversation")


def test_bad_session_and_kind_are_refused(hub: zerolag.Hub) -> None:
    loop = make_loop(hub)
    for bad in ("", "has space", "x" * 201):
        with pytest.raises(zerolag.ValidationError):
            loop.send(bad, "hello")
    with pytest.raises(zerolag.ValidationError):
        loop.register("xx", lambda c, x: None)
    with pytest.raises(zerolag.ValidationError):
        loop.register("tc", "not callable")  # type: ignore[arg-type]
    with zerolag.DualLoop(hub, lambda m: "on it [tc:Fine|x|low]") as other:
        other.register("tc", lambda c, x: None, max_attempts=2)
        with pytest.raises(zerolag.ValidationError, match="max_attempts"):
            other.register("tc", lambda c, x: None, max_attempts=0)  # refused now, not at send
        job = hub.jobs.get(other.send("ok", "hello").jobs[0])  # the earlier one still holds
        assert job.max_attempts == 2


def test_handoff_reference_shape_is_indexed(hub: zerolag.Hub) -> None:
    reply = (
        '{"userResponse": "I\'ll update that auth task for you", "handoff": {"action": '
        '"update_task", "taskId": "auth_impl_001", "keywords": ["jwt", "refresh"], '
        '"confidence": 0.9, "related_tasks": ["user_mgmt_002"]}}'
    )
    hub.tasks.create("Auth", id="auth_impl_001", intent="auth_implementation")
    loop = make_loop(hub, scripted(reply))
    r = loop.send("s", "update the auth task")
    assert r.ok and r.text == "I'll update that auth task for you"
    assert r.task_ids == ["auth_impl_001"] and r.commands == []
    t = hub.tasks.get("auth_impl_001")
    assert t.keywords == ["jwt", "refresh"] and t.related == ["user_mgmt_002"]


def test_failing_handler_is_retried_with_er_events(hub: zerolag.Hub) -> None:
    loop = zerolag.DualLoop(hub, scripted("ok [tc:Flaky|x|low]\n[tc:Broken|x|low]"))
    calls: dict[str, int] = {}

    @loop.command("tc", max_attempts=2, backoff=0.01)
    def create(cmd: protocol.TaskCreate, ctx: zerolag.CommandContext) -> str:
        calls[cmd.title] = calls.get(cmd.title, 0) + 1
        if cmd.title == "Broken" or ctx.attempt == 1:
            raise RuntimeError(f"boom {ctx.attempt}")
        return "fine"

    r = loop.send("s", "go")
    assert len(r.jobs) == 2
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        loop.run_backend(burst=True)
        if all(j and j.status in ("succeeded", "dead") for j in hub.jobs.get_many(r.jobs)):
            break
        time.sleep(0.02)
    assert calls == {"Flaky": 2, "Broken": 2}
    assert [j.status for j in hub.jobs.get_many(r.jobs) if j] == ["succeeded", "dead"]
    errs = [e.event for e in loop.history("s") if e.kind == "er"]
    assert len(errs) == 3 and all(e.code == "E_HANDLER" for e in errs)
    assert sum("retrying" in e.recovery for e in errs) == 2
    (final,) = [e for e in errs if "gave up" in e.recovery]
    assert "boom 2" in final.message and "RuntimeError" in final.message
    status = " ".join(loop.status("s"))
    assert "E_HANDLER" in status and "done" in status


@pytest.mark.parametrize(
    "reply, code",
    [
        ("Sure!\n[wf:project_planning|{name:'x'}]", "E_UNKNOWN_COMMAND"),
        ("Sure!\n[tc:Good|x|low]\n[wf:deploy|{}]", "E_UNKNOWN_COMMAND"),
        ("Sure!\n[tc:missing fields]", "E_PARSE"),
        ("Sure!\n[tc:Good|x|low]\n[ts:t1|7|bad confidence]", "E_PARSE"),
        ("x" * 40_000 + "\n[tc:Good|x|low]", "E_INVALID"),
        ("ok\n[tc:" + "y" * 5000 + "|x|low]", "E_INVALID"),
        ("ok\n" + "\n".join(f"[tc:T{i}|x|low]" for i in range(20)), "E_INVALID"),
        (
            'ok [tc:Good|x|low]\n```json\n{"handoff": {"action": "drop_db"}}\n```',
            "E_UNKNOWN_COMMAND",
        ),
        ('ok [tc:Good|x|low]\n```json\n{"handoff": {"action": \n```', "E_PARSE"),
        ('ok\n```json\n{"handoff": {"action": "update_task"}}\n```', "E_INVALID"),
    ],
    ids=[
        "unregistered",
        "unregistered-with-good",
        "malformed",
        "bad-field",
        "oversized-reply",
        "oversized-command",
        "too-many",
        "handoff-action",
        "handoff-json",
        "handoff-invalid",
    ],
)
def test_injection_executes_nothing(hub: zerolag.Hub, reply: str, code: str) -> None:
    ran: list[str] = []
    loop = zerolag.DualLoop(hub, scripted(reply))
    loop.register("tc", lambda cmd, ctx: ran.append(cmd.title))
    loop.register("ts", lambda cmd, ctx: ran.append(cmd.task_id))
    r = loop.send("s", "do it")
    assert not r.ok and r.commands == [] and r.jobs == [] and r.task_ids == []
    assert code in [e.code for e in r.errors]
    assert r.notice and "Nothing was started" in r.text
    assert "[tc:" not in r.text and "```" not in r.text
    assert hub.tasks.count() == 0
    assert loop.run_backend(burst=True).processed == 0 and ran == []
    evs = loop.history("s")
    assert evs and all(e.kind == "er" for e in evs)
    assert code in [e.event.code for e in evs]  # type: ignore[union-attr]


def test_backend_down_reply_returned_and_command_waits(hub: zerolag.Hub) -> None:
    loop = make_loop(hub, backend_grace=0.05)
    r = loop.send("s", "Create a billing report")
    assert r.ok and r.notice is None and hub.jobs.get(r.jobs[0]).status == "pending"
    time.sleep(0.1)  # no worker runs: the command waits durably
    r2 = loop.send("s", "hello")
    assert r2.notice and "wait" in r2.notice and r2.notice in r2.text
    status = " ".join(loop.status("s"))
    assert "no backend worker has picked it up yet" in status
    # A loop in another "process" (a fresh instance) sees it queued in the store too.
    assert hub.jobs.get(r.jobs[0]).status == "pending"
    assert loop.run_backend(burst=True).succeeded == 1
    loop.catch_up()  # the tracker applies events a few ms behind; make it exact
    r3 = loop.send("s", "status?")
    assert r3.notice is None and "done" in r3.text


def test_catch_up_stops_at_the_end_it_saw_while_events_keep_coming(hub: zerolag.Hub) -> None:
    loop = make_loop(hub)
    stop = threading.Event()

    def publish() -> None:  # another backend, never quiet
        while not stop.is_set():
            hub.events.publish(f"{loop.name}:s", {"e": "su:t1|running|0.5"})

    t = threading.Thread(target=publish, daemon=True)
    t.start()
    try:
        time.sleep(0.05)
        end = hub.events.last_id()
        done = threading.Event()
        threading.Thread(target=lambda: (loop.catch_up(), done.set()), daemon=True).start()
        assert done.wait(20), "catch_up kept following a log that never went quiet"
        assert _key(loop._cursor) >= _key(end)  # everything published before the call
    finally:
        stop.set()
        t.join()
        loop.close()


def _key(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return (int(ms), int(seq or 0))


def test_store_down_reply_still_returned(make_redis_server: Any) -> None:
    # Runs once, on a Redis server of its own (stopping a shared one would break other tests;
    # the embedded store has no server to lose).
    server = make_redis_server()
    with zerolag.open(server.url + "?timeout=0.5&connect_timeout=0.5&retries=0") as hub:
        loop = make_loop(hub)
        assert loop.send("s", "hello").ok
        server.stop()
        r = loop.send("s", "Create a thing")
        assert r.commands == [] and [e.code for e in r.errors] == ["E_BACKEND_DOWN"]
        assert "stand-in" in r.text and "could not be reached" in r.text


def test_asend_leaves_the_event_loop_free_while_the_server_hangs(
    make_redis_server: Any, arun: Any
) -> None:
    # asend sends on the event loop's thread and polls briefly for the reply; one that does not
    # come must be waited for elsewhere. On a server of its own (SIGSTOP hangs it).
    server = make_redis_server()

    async def model(messages: list[dict[str, str]]) -> str:
        return "ok [tc:Hang test|x|low]"

    with zerolag.open(server.url + "?timeout=1&connect_timeout=1&retries=0") as hub:
        loop = zerolag.DualLoop(hub, model)
        loop.register("tc", lambda cmd, ctx: None)

        async def main() -> tuple[Any, int, float]:
            for _ in range(3):  # the first sends also open the connections the rest reuse
                assert (await loop.asend("s", "warm up")).ok
            ticks = 0
            done = asyncio.Event()

            async def ticker() -> None:
                nonlocal ticks
                while not done.is_set():
                    ticks += 1
                    await asyncio.sleep(0.01)

            t = asyncio.ensure_future(ticker())
            await asyncio.sleep(0.05)
            server.pause()
            try:
                start = time.monotonic()
                r = await loop.asend("s", "while hung")
                waited = time.monotonic() - start
            finally:
                server.resume()
                done.set()
                await t
            return r, ticks, waited

        r, ticks, waited = arun(main())
        assert [e.code for e in r.errors] == ["E_BACKEND_DOWN"] and r.jobs == []
        assert waited >= 0.8, waited  # it did wait for the server's (missing) reply
        assert ticks >= 40, f"the event loop ran only {ticks} ticks in {waited:.2f} s"
        assert loop.send("s", "after").ok  # the hub recovers
        loop.close()


def test_hundred_sessions_see_only_their_events(hub: zerolag.Hub) -> None:
    loop = make_loop(hub)
    sessions = [f"u{i}" for i in range(100)]
    with ThreadPoolExecutor(max_workers=16) as pool:  # the sessions talk at the same time
        sent = pool.map(lambda s: loop.send(s, f"Create feature {s}"), sessions)
        replies = dict(zip(sessions, sent, strict=True))
    got: dict[str, list[zerolag.LoopEvent]] = {}

    def watch(s: str) -> None:
        got[s] = []
        for ev in loop.events(s, after="0"):
            got[s].append(ev)
            if ev.kind == "tc":
                return

    watchers = [threading.Thread(target=watch, args=(s,), daemon=True) for s in sessions[:5]]
    for t in watchers:
        t.start()
    assert loop.run_backend(concurrency=8, burst=True).succeeded == 100
    for t in watchers:
        t.join(30)
    for s in sessions:
        evs = loop.history(s)
        assert kinds(evs) == ["su", "su", "tc"], s
        assert {e.job for e in evs} == set(replies[s].jobs)
        assert evs[-1].event.result == {"title": f"Feature {s}"}  # type: ignore[union-attr]
    for s in sessions[:5]:
        assert [e.id for e in got[s]] == [e.id for e in loop.history(s)]


def test_async_forms(hub: zerolag.Hub, arun: Any) -> None:
    async def model(messages: list[dict[str, str]]) -> str:
        await asyncio.sleep(0)
        return "on it [tc:Async thing|x|low]"

    loop = zerolag.DualLoop(hub, model)

    @loop.command("tc")
    async def create(cmd: protocol.TaskCreate, ctx: zerolag.CommandContext) -> Any:
        await ctx.aprogress(0.3)
        await asyncio.sleep(0.01)
        return "async done"

    async def main() -> list[zerolag.LoopEvent]:
        r = await loop.asend("a", "do it")
        assert r.ok and [c.title for c in r.commands] == ["Async thing"]
        assert r.text == "on it"
        seen: list[zerolag.LoopEvent] = []

        async def watch() -> None:
            async for ev in loop.aevents("a", after="0"):
                seen.append(ev)
                if ev.kind == "tc":
                    return

        w = asyncio.ensure_future(watch())
        stats = await loop.arun_backend(concurrency=2, burst=True)
        assert stats.succeeded == 1
        await asyncio.wait_for(w, 30)
        return seen

    seen = arun(main())
    assert kinds(seen) == ["su", "su", "tc"]
    assert seen[-1].event.result == "async done"  # type: ignore[union-attr]
    # A sync model works with asend too, and an async model with send.
    assert loop.send("a", "again").commands[0].title == "Async thing"


def _start_worker(url: str | None, root: Path, ns: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "zerolag", "worker", "loop_app:make", "--json"]
    cmd += ["--concurrency", "2", "--visibility", "1", "--root", str(root), "--namespace", ns]
    if url:
        cmd += ["--url", url]
    env = {**os.environ, "ZL_LOOP_LOG": str(log), "PYTHONPATH": str(HERE)}
    return subprocess.Popen(
        cmd, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.mark.timeout(120)
def test_worker_killed_mid_command_completes_elsewhere(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    import loop_app

    loop = loop_app.make(hub)
    r = loop.send("k", "Create a slow migration")
    (job,) = r.jobs
    log = tmp_path / "attempts"
    first = _start_worker(store_url, tmp_path, namespace, log)
    try:
        # The handler's progress report comes after it logged the attempt.
        started = loop.wait_for(
            "k", lambda e: e.kind == "su" and e.event.status == "in_progress", timeout=30
        )
        assert started is not None, "the first worker never started the command"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = _start_worker(store_url, tmp_path, namespace, log)
        try:
            done = loop.wait_for("k", lambda e: e.kind == "tc", timeout=60)
        finally:
            second.send_signal(signal.SIGINT)
            try:
                second.wait(20)
            except subprocess.TimeoutExpired:
                second.kill()
    finally:
        if first.poll() is None:
            first.kill()
    assert done is not None and done.job == job
    result = done.event.result  # type: ignore[union-attr]
    assert result["attempt"] == 2 and result["pid"] == second.pid
    attempts = sorted(
        line for f in tmp_path.glob("attempts.*") for line in f.read_text().splitlines()
    )
    assert attempts == [f"{job} 1", f"{job} 2"]
    assert hub.jobs.get(job).status == "succeeded"


def test_worker_cli_runs_a_loop_instance(tmp_path: Path) -> None:
    # Runs once, on the embedded store: the CLI's target resolution does not depend on it.
    (tmp_path / "loopmod.py").write_text(
        "import zerolag\n"
        "from zerolag.llm import RuleBasedFrontend\n"
        "loop = zerolag.DualLoop(zerolag.open(root='elsewhere'), RuleBasedFrontend())\n"
        "loop.register('tc', lambda cmd, ctx: 'made ' + cmd.title)\n"
    )
    with zerolag.open(root=tmp_path, namespace="cli") as hub:
        r = make_loop(hub).send("s", "Create a widget")
        out = subprocess.run(
            [sys.executable, "-m", "zerolag", "worker", "loopmod:loop", "--burst", "--json"]
            + ["--root", str(tmp_path), "--namespace", "cli"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert '"succeeded": 1' in out.stdout
        assert hub.jobs.get(r.jobs[0]).result == "made Widget"
