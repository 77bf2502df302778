"""LangGraph graphs as DualLoop backends on every backend: a coded command runs a graph in a
worker, nodes report ``su`` events and the final state a ``tc``; ``interrupt()`` waits for
``loop.resume`` (or the frontend's ``wf:resume``); a failed node's retry and a SIGKILLed
worker's successor resume from the last checkpoint without running finished nodes again."""

from __future__ import annotations

import operator
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
import zerolag
from zerolag import NotFoundError, ValidationError, protocol

pytest.importorskip("langgraph.graph")

from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import interrupt  # noqa: E402

HERE = Path(__file__).resolve().parent


def scripted(*replies: str) -> Any:
    it = iter(replies)
    return lambda messages: next(it)


class Review(TypedDict, total=False):
    user: str
    steps: Annotated[list[str], operator.add]
    approved: bool


def review_graph(calls: list[str]) -> StateGraph:
    def plan(s: Review) -> dict[str, Any]:
        calls.append("plan")
        return {"steps": ["plan"]}

    def review(s: Review) -> dict[str, Any]:
        answer = interrupt({"question": f"approve the plan for {s['user']}?"})
        calls.append("review")
        return {"approved": bool(answer), "steps": ["review"]}

    def act(s: Review) -> dict[str, Any]:
        calls.append("act")
        return {"steps": ["act"]}

    g = StateGraph(Review)
    for name, fn in (("plan", plan), ("review", review), ("act", act)):
        g.add_node(name, fn)
    g.add_edge(START, "plan")
    g.add_edge("plan", "review")
    g.add_edge("review", "act")
    g.add_edge("act", END)
    return g


def lines(events: list[zerolag.LoopEvent]) -> list[str]:
    return [e.event.encode() for e in events]


def test_a_workflow_waits_for_input_and_resumes(hub: zerolag.Hub) -> None:
    calls: list[str] = []
    loop = zerolag.DualLoop(hub, scripted('ok [wf:onboard|{"user": "ana"}]'))
    loop.register_graph("onboard", review_graph(calls))
    assert loop.kinds == ["wf"] and loop.graphs == ["onboard"]
    (job,) = loop.send("s1", "onboard ana").jobs
    assert loop.run_backend(burst=True).succeeded == 1
    first = list(loop.history("s1"))
    assert lines(first) == [
        "su:onboard|started|0.0",
        "su:onboard|node:plan|0.333",
        "su:onboard|waiting_input|0.333",
    ]
    assert first[-1].data == {"question": "approve the plan for ana?"}
    assert {e.job for e in first} == {job}
    assert calls == ["plan"]
    # The run's checkpoints are in the store, in the loop's own prefix.
    assert any(k.startswith("loop-graphs/c/loop:") for k in hub.kv.keys("loop-graphs/"))
    again = loop.resume(job, True)
    assert loop.run_backend(burst=True).succeeded == 1
    rest = list(loop.history("s1"))[len(first) :]
    assert lines(rest)[1:] == [
        "su:onboard|node:review|0.667",
        "su:onboard|node:act|0.95",
        "tc:onboard|{user:'ana',steps:['plan','review','act'],approved:true}|[]",
    ]
    assert {e.job for e in rest} == {again}
    assert calls == ["plan", "review", "act"]
    assert list(hub.kv.keys("loop-graphs/wait/")) == []  # nothing is waiting any more
    with pytest.raises(NotFoundError):
        loop.resume(job, False)  # it finished


def test_the_frontend_resumes_the_sessions_latest_waiting_run(hub: zerolag.Hub) -> None:
    calls: list[str] = []
    loop = zerolag.DualLoop(
        hub,
        scripted(
            'ok [wf:onboard|{"user": "bo"}]',
            'noted [wf:resume|{"value": false}]',
            'again [wf:resume|{"value": true}]',
        ),
    )
    loop.register_graph("onboard", review_graph(calls))
    loop.send("s2", "onboard bo")
    loop.run_backend(burst=True)
    loop.send("s2", "no, do not approve")
    loop.run_backend(burst=True)
    done = [e for e in loop.history("s2") if e.kind == "tc"]
    assert len(done) == 1 and done[0].event.result["approved"] is False  # type: ignore[union-attr]
    # Nothing is waiting now: a further resume is an er event, not a crash.
    loop.send("s2", "approve it")
    loop.run_backend(burst=True)
    err = [e for e in loop.history("s2") if e.kind == "er"]
    assert err and "no graph run waiting" in err[-1].event.message  # type: ignore[union-attr]


def test_a_graph_for_every_tc_command_gets_the_commands_fields(hub: zerolag.Hub) -> None:
    class Task(TypedDict, total=False):
        title: str
        intent: str
        complexity: str
        plan: str

    g = StateGraph(Task)
    g.add_node("plan", lambda s: {"plan": f"{s['intent']}: {s['title']} ({s['complexity']})"})
    g.add_edge(START, "plan")
    g.add_edge("plan", END)
    loop = zerolag.DualLoop(hub, scripted("on it [tc:Add OAuth|implement|medium]"))
    loop.register_graph("tc", g.compile(), output=lambda s: {"plan": s["plan"]})
    (tid,) = loop.send("s3", "add oauth").task_ids
    loop.run_backend(burst=True)
    (done,) = [e for e in loop.history("s3") if e.kind == "tc"]
    assert done.event.task_id == tid  # type: ignore[union-attr]
    assert done.event.result == {"plan": "implement: Add OAuth (medium)"}  # type: ignore[union-attr]


def test_a_failed_node_is_retried_from_the_last_checkpoint(hub: zerolag.Hub) -> None:
    runs: list[str] = []

    class S(TypedDict, total=False):
        n: int

    def one(s: S) -> dict[str, Any]:
        runs.append("one")
        return {"n": 1}

    def two(s: S) -> dict[str, Any]:
        runs.append("two")
        if runs.count("two") == 1:
            raise RuntimeError("flaky node")
        return {"n": s["n"] + 1}

    g = StateGraph(S)
    g.add_node("one", one)
    g.add_node("two", two)
    g.add_edge(START, "one")
    g.add_edge("one", "two")
    g.add_edge("two", END)
    loop = zerolag.DualLoop(hub, scripted("[wf:count|{}]"))
    loop.register_graph("count", g, backoff=0.0)
    loop.send("s4", "count")
    loop.run_backend(burst=True)
    evs = list(loop.history("s4"))
    assert [e.kind for e in evs] == ["su", "su", "er", "su", "su", "tc"]
    assert "RuntimeError: flaky node" in evs[2].event.message  # type: ignore[union-attr]
    assert evs[-1].event.result == {"n": 2}  # type: ignore[union-attr]
    assert runs == ["one", "two", "two"]  # "one" did not run again


def test_bad_registrations_and_commands_get_typed_errors(hub: zerolag.Hub) -> None:
    g = review_graph([])
    loop = zerolag.DualLoop(hub, scripted("[wf:nobody|{}]"))
    with pytest.raises(ValidationError):
        loop.register_graph("resume", g)
    with pytest.raises(ValidationError):
        loop.register_graph("bad id|x", g)
    with pytest.raises(ValidationError):
        loop.register_graph("onboard", object())
    with pytest.raises(ValidationError):
        loop.register_graph("onboard", g, input="not callable")  # type: ignore[arg-type]
    loop.register_graph("onboard", g)
    with pytest.raises(ValidationError):
        loop.register("wf", lambda c, x: None)  # wf runs the graphs now
    with pytest.raises(NotFoundError):
        loop.resume("j-none", 1)
    plain = zerolag.DualLoop(hub, scripted())
    plain.register("wf", lambda c, x: None)
    with pytest.raises(ValidationError):
        plain.register_graph("onboard", g)
    # A workflow no graph has: an er event, the job given up after its attempts.
    loop.send("s5", "start nobody")
    loop.run_backend(burst=True)
    errs = [e for e in loop.history("s5") if e.kind == "er"]
    assert errs and "no graph is registered as workflow 'nobody'" in errs[0].event.message  # type: ignore[union-attr]
    assert protocol.decode_command('wf:resume|{"value": 1}').workflow_id == "resume"


def _start_worker(url: str | None, root: Path, ns: str, log: Path, slow: bool) -> Any:
    cmd = [sys.executable, "-m", "zerolag", "worker", "loop_graph_app:make"]
    cmd += ["--visibility", "1", "--root", str(root), "--namespace", ns]
    if url:
        cmd += ["--url", url]
    env = {
        **os.environ,
        "ZL_GRAPH_LOG": str(log),
        "ZL_GRAPH_SLOW": "1" if slow else "0",
        "PYTHONPATH": str(HERE),
    }
    return subprocess.Popen(
        cmd, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.mark.timeout(120)
def test_a_worker_killed_mid_graph_is_resumed_by_another(
    hub: zerolag.Hub, store_url: str | None, tmp_path: Path, namespace: str
) -> None:
    import loop_graph_app

    loop = loop_graph_app.make(hub)
    loop.frontend = scripted('building [wf:build|{"repo": "api"}]')
    (job,) = loop.send("k", "build the api").jobs
    log = tmp_path / "nodes"
    first = _start_worker(store_url, tmp_path, namespace, log, slow=True)
    try:
        started = loop.wait_for(
            "k", lambda e: e.kind == "su" and e.event.status == "node:fetch", timeout=60
        )
        assert started is not None, "the first worker never ran the first node"
        # "compile" is running (and sleeping) in the first worker once it logged.
        for _ in range(500):
            if any("compile" in f.read_text() for f in tmp_path.glob("nodes.*")):
                break
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = _start_worker(store_url, tmp_path, namespace, log, slow=False)
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
    assert done.event.result == {"repo": "api", "done": ["fetch", "compile", "ship"]}  # type: ignore[union-attr]
    ran = sorted(line for f in tmp_path.glob("nodes.*") for line in f.read_text().splitlines())
    assert ran == sorted(
        [
            f"fetch {first.pid}",
            f"compile {first.pid}",
            f"compile {second.pid}",
            f"ship {second.pid}",
        ]
    )
    assert hub.jobs.get(job).status == "succeeded"
