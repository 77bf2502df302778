"""A DualLoop running a LangGraph graph, for worker subprocesses
(``zerolag worker loop_graph_app:make``).

The workflow ``build`` runs the nodes ``fetch``, ``compile`` and ``ship`` in a row; each
node appends ``<node> <pid>`` to ``$ZL_GRAPH_LOG.<pid>`` (one O_APPEND line per run, so a
SIGKILL never leaves half a line) when it starts. ``compile`` sleeps for a minute in the first
process that runs it (a worker to kill mid-node) and returns at once in any other.
"""

from __future__ import annotations

import operator
import os
import time
from typing import Annotated, Any, TypedDict

import zerolag
from langgraph.graph import END, START, StateGraph
from zerolag.llm import RuleBasedFrontend


def _log(text: str) -> None:
    path = os.environ.get("ZL_GRAPH_LOG")
    if path:
        fd = os.open(f"{path}.{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, f"{text} {os.getpid()}\n".encode())
        finally:
            os.close(fd)


class Build(TypedDict, total=False):
    repo: str
    done: Annotated[list[str], operator.add]


def node(name: str, slow: bool = False) -> Any:
    def run(state: Build) -> dict[str, Any]:
        _log(name)
        if slow and os.environ.get("ZL_GRAPH_SLOW") == "1":
            time.sleep(60)
        return {"done": [name]}

    return run


def graph() -> StateGraph:
    g = StateGraph(Build)
    g.add_node("fetch", node("fetch"))
    g.add_node("compile", node("compile", slow=True))
    g.add_node("ship", node("ship"))
    g.add_edge(START, "fetch")
    g.add_edge("fetch", "compile")
    g.add_edge("compile", "ship")
    g.add_edge("ship", END)
    return g


def make(hub: zerolag.Hub) -> zerolag.DualLoop:
    loop = zerolag.DualLoop(hub, frontend=RuleBasedFrontend())
    loop.register_graph("build", graph(), max_attempts=3, backoff=0.05)
    return loop
