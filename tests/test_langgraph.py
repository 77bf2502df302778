"""The LangGraph checkpointer on every backend: LangGraph's conformance suite
(``langgraph-checkpoint-conformance``, unmodified) at level FULL with every extended capability
detected and passed, the blocking methods on their own, a real StateGraph with an interrupt,
a human-in-the-loop resume and time travel, and a worker SIGKILLed mid-graph whose thread
another process resumes from the last checkpoint."""

from __future__ import annotations

import asyncio
import operator
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, TypedDict
from uuid import uuid4

import pytest
import zerolag

pytest.importorskip("langgraph.checkpoint.conformance")

from langgraph.checkpoint.conformance import checkpointer_test, validate  # noqa: E402
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES  # noqa: E402
from langgraph.checkpoint.conformance.report import ProgressCallbacks  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import Command, interrupt  # noqa: E402
from zerolag.integrations.langgraph import ZerolagSaver  # noqa: E402

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("inline_max", [4096, 0])  # values in the record / all in blobs
def test_conformance_full_with_every_extended_capability(hub: zerolag.Hub, inline_max: int) -> None:
    @checkpointer_test(name="ZerolagSaver")
    async def saver() -> AsyncIterator[ZerolagSaver]:
        yield ZerolagSaver(hub, inline_max=inline_max)

    report = asyncio.run(validate(saver, progress=ProgressCallbacks.quiet()))
    failures = {k: r.failures for k, r in report.results.items() if r.failures}
    assert failures == {}
    assert report.conformance_level() == "FULL"
    assert {k for k, r in report.results.items() if r.detected} == {
        c.value for c in ALL_CAPABILITIES
    }
    assert all(r.passed is True for r in report.results.values())
    assert sum(r.tests_passed for r in report.results.values()) > 50


class State(TypedDict):
    steps: Annotated[list[str], operator.add]
    approved: bool


def build(saver: ZerolagSaver) -> Any:
    def plan(state: State) -> dict[str, Any]:
        return {"steps": ["plan"]}

    def review(state: State) -> dict[str, Any]:
        answer = interrupt({"question": "approve the plan?", "steps": state["steps"]})
        return {"steps": ["review"], "approved": answer == "yes"}

    def act(state: State) -> dict[str, Any]:
        return {"steps": ["act" if state["approved"] else "stop"]}

    g = StateGraph(State)
    g.add_node("plan", plan)
    g.add_node("review", review)
    g.add_node("act", act)
    g.add_edge(START, "plan")
    g.add_edge("plan", "review")
    g.add_edge("review", "act")
    g.add_edge("act", END)
    return g.compile(checkpointer=saver)


def test_a_graph_interrupts_resumes_and_travels_in_time(hub: zerolag.Hub) -> None:
    saver = ZerolagSaver(hub)
    graph = build(saver)
    cfg = {"configurable": {"thread_id": "t-" + uuid4().hex}}
    out = graph.invoke({"steps": [], "approved": False}, cfg)
    assert out["__interrupt__"][0].value["question"] == "approve the plan?"
    # Another process's graph (a fresh saver on the same store) resumes it.
    other = build(ZerolagSaver(zerolag.open(hub.url, namespace=hub.namespace) if hub.url else hub))
    done = other.invoke(Command(resume="yes"), cfg)
    assert done["steps"] == ["plan", "review", "act"] and done["approved"] is True
    history = list(graph.get_state_history(cfg))
    assert len(history) >= 4 and history[0].values["steps"] == ["plan", "review", "act"]
    # Time travel: replay from the checkpoint before the plan (a fork of the thread), which
    # stops at the review again, and answer differently this time.
    before_plan = next(s for s in history if s.next == ("plan",))
    again = graph.invoke(None, before_plan.config)
    assert again["steps"] == ["plan"] and "__interrupt__" in again
    forked = graph.invoke(Command(resume="no"), cfg)
    assert forked["steps"] == ["plan", "review", "stop"] and forked["approved"] is False
    assert graph.get_state(cfg).values["steps"] == ["plan", "review", "stop"]
    # Both branches stay in the history.
    finals = [s.values["steps"] for s in graph.get_state_history(cfg) if not s.next]
    assert finals == [["plan", "review", "stop"], ["plan", "review", "act"]]


def test_the_blocking_methods(hub: zerolag.Hub) -> None:
    saver = ZerolagSaver(hub, prefix="lgsync")
    graph = build(saver)
    tid = "t-" + uuid4().hex
    cfg = {"configurable": {"thread_id": tid}}
    graph.invoke({"steps": [], "approved": False}, cfg)
    latest = saver.get_tuple(cfg)
    assert latest is not None and latest.pending_writes  # the interrupt
    listed = list(saver.list(cfg))
    assert listed[0].config == latest.config and len(listed) >= 3
    assert [t.config for t in saver.list(cfg, limit=1)] == [latest.config]
    assert list(saver.list(cfg, before=latest.config))[0].config == listed[1].config
    assert list(saver.list(cfg, filter={"source": "input"}))[0].metadata["source"] == "input"
    saver.copy_thread(tid, tid + "-copy")
    copy = saver.get_tuple({"configurable": {"thread_id": tid + "-copy"}})
    assert copy is not None and copy.checkpoint["id"] == latest.checkpoint["id"]
    saver.prune([tid], strategy="keep_latest")
    assert [t.config for t in saver.list(cfg)] == [latest.config]
    assert saver.get_tuple(cfg).checkpoint["channel_values"] == latest.checkpoint["channel_values"]
    saver.delete_thread(tid)
    assert saver.get_tuple(cfg) is None and list(saver.list(cfg)) == []
    assert list(hub.kv.keys(f"lgsync/c/{tid}/")) == []
    with pytest.raises(zerolag.ValidationError):
        saver.prune([tid], strategy="everything")
    with pytest.raises(zerolag.ValidationError):
        ZerolagSaver(hub, prefix="a/b")


def test_a_worker_killed_mid_graph_is_resumed_by_another(
    store_url: str | None, tmp_path: Path, namespace: str, hub: zerolag.Hub
) -> None:
    worker = [sys.executable, str(HERE / "langgraph_worker.py"), store_url or "-", str(tmp_path)]
    worker += [namespace, "t-" + uuid4().hex]
    marker = tmp_path / "in-step-3"
    p = subprocess.Popen([*worker, str(marker), "start"])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert p.poll() is None and time.monotonic() < deadline, "worker never reached step 3"
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait(30)
    assert p.returncode == -signal.SIGKILL
    out = subprocess.run(
        [*worker, str(marker), "resume"], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[1, 2, 3, 4, 5]"
    # Steps 1 and 2 were checkpointed and not run again; step 3 ran again after the kill.
    assert [hub.kv.get(f"runs/{i}") for i in range(1, 6)] == [1, 1, 2, 1, 1]


def test_names_with_slashes_and_percents_stay_apart(hub: zerolag.Hub) -> None:
    saver = ZerolagSaver(hub)
    graph = build(saver)
    a, b = "user/1%2F2", "user%2F1/2"  # would collide if '/' and '%' were not both escaped
    for tid in (a, b):
        graph.invoke({"steps": [], "approved": False}, {"configurable": {"thread_id": tid}})
    graph.invoke(Command(resume="yes"), {"configurable": {"thread_id": a}})
    ta = saver.get_tuple({"configurable": {"thread_id": a}})
    tb = saver.get_tuple({"configurable": {"thread_id": b}})
    assert ta is not None and tb is not None
    assert ta.config["configurable"]["thread_id"] == a
    assert ta.checkpoint["channel_values"]["steps"] == ["plan", "review", "act"]
    assert tb.checkpoint["channel_values"]["steps"] == ["plan"]
    assert {t.config["configurable"]["thread_id"] for t in saver.list(None)} == {a, b}
    saver.delete_thread(a)
    assert saver.get_tuple({"configurable": {"thread_id": a}}) is None
    assert saver.get_tuple({"configurable": {"thread_id": b}}) is not None


class Mixed(TypedDict):
    small: int
    big: str


def test_small_values_live_in_the_record_and_large_ones_in_blobs(hub: zerolag.Hub) -> None:
    def grow(s: Mixed) -> dict[str, Any]:
        return {"small": s["small"] + 1, "big": s["big"] or "x" * 1000}

    def bump(s: Mixed) -> dict[str, Any]:
        return {"small": s["small"] + 1}  # "big" unchanged: stays in its one blob

    g = StateGraph(Mixed)
    g.add_node("grow", grow)
    g.add_node("bump", bump)
    g.add_edge(START, "grow")
    g.add_edge("grow", "bump")
    g.add_edge("bump", END)
    cfg = {"configurable": {"thread_id": "mixed"}}
    first = g.compile(checkpointer=ZerolagSaver(hub, inline_max=64))
    assert first.invoke({"small": 0, "big": ""}, cfg) == {"small": 2, "big": "x" * 1000}
    blobs = list(hub.kv.keys("langgraph/b/mixed/"))
    assert len(blobs) == 1 and "/big/" in blobs[0]  # "small" never left the records
    # Another saver (another process: nothing remembered) continues the thread: the parent's
    # record is read for what it carries.
    second = g.compile(checkpointer=ZerolagSaver(hub, inline_max=64))
    assert second.get_state(cfg).values == {"small": 2, "big": "x" * 1000}
    assert second.invoke({"small": 10, "big": ""}, cfg) == {"small": 12, "big": "x" * 1000}
    history = [s.values for s in second.get_state_history(cfg)]
    assert history[0] == {"small": 12, "big": "x" * 1000}
    assert {"small": 1, "big": "x" * 1000} in history
