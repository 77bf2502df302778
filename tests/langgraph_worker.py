"""A worker process for tests/test_langgraph.py: runs (or resumes) a five-step graph on a
thread with ZerolagSaver; step 3 announces itself in a file and hangs on the first run, so the
test can SIGKILL the process mid-graph. Every step counts its runs in hub.kv.

    python langgraph_worker.py URL|- ROOT NAMESPACE THREAD MARKER start|resume
"""

from __future__ import annotations

import operator
import sys
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import zerolag
from langgraph.graph import START, StateGraph
from zerolag.integrations.langgraph import ZerolagSaver


class S(TypedDict):
    done: Annotated[list[int], operator.add]


def main() -> None:
    url, root, ns, thread, marker, mode = sys.argv[1:7]
    hub = zerolag.open(None if url == "-" else url, root=root, namespace=ns)

    def step(i: int) -> Any:
        def run(state: S) -> dict[str, Any]:
            hub.kv.incr(f"runs/{i}")
            if i == 3 and hub.kv.get("runs/3") == 1:
                Path(marker).write_text("in step 3")
                time.sleep(600)  # killed here
            return {"done": [i]}

        return run

    g = StateGraph(S)
    for i in range(1, 6):
        g.add_node(f"s{i}", step(i))
    g.add_edge(START, "s1")
    for i in range(1, 5):
        g.add_edge(f"s{i}", f"s{i + 1}")
    app = g.compile(checkpointer=ZerolagSaver(hub))
    cfg = {"configurable": {"thread_id": thread}}
    out = app.invoke({"done": []} if mode == "start" else None, cfg)
    print(out["done"])


if __name__ == "__main__":
    main()
