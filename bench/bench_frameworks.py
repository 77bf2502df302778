"""The `frameworks` suite: zerolag's LangGraph checkpointer against LangGraph's own savers, in
one run (see bench/README.md).

* put + get_tuple: the checkpoints of a 10-step graph (captured once from a real run) written
  with ``put`` one after another on fresh threads, then the latest read back with
  ``get_tuple``, per checkpoint; ours on the embedded store against
  ``langgraph-checkpoint-sqlite``'s ``SqliteSaver`` on a file at the same durability (both
  SQLite in WAL mode with ``synchronous=NORMAL``: SqliteSaver's connection is set to it; its
  default, FULL, syncs more), against ``InMemorySaver`` (a dict: nothing durable, nothing
  shared; reported), and ours on Redis (``langgraph-checkpoint-redis`` cannot run on a plain
  redis-server: it needs the RediSearch and RedisJSON modules);
* the floor of a put on the embedded store: one ``kv.set`` of a record of the same size;
* the per-step overhead of ``StateGraph.invoke`` on a 10-step graph with our saver against
  ``InMemorySaver`` (report);
* an MCP tool call over stdio to ``zerolag mcp`` (bench/mcp_rows.py; report).
"""

from __future__ import annotations

import operator
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

import zerolag
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, StateGraph
from zerolag.integrations.langgraph import ZerolagSaver

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mcp_rows  # noqa: E402

NEEDS_REDIS = True
ORDER = 90
STEPS = 10


class State(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def graph(saver: Any) -> Any:
    g = StateGraph(State)
    for i in range(STEPS):
        g.add_node(f"s{i}", lambda s, i=i: {"n": s["n"] + 1, "log": [f"step {i}"]})
    g.add_edge(START, "s0")
    for i in range(STEPS - 1):
        g.add_edge(f"s{i}", f"s{i + 1}")
    return g.compile(checkpointer=saver)


class Recorder(InMemorySaver):
    """InMemorySaver that keeps the arguments of every put (the workload to replay)."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: list[tuple[Any, Any, Any, Any]] = []

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        self.puts.append((config, checkpoint, metadata, new_versions))
        return super().put(config, checkpoint, metadata, new_versions)


def workload() -> list[tuple[Any, Any, Any, Any]]:
    rec = Recorder()
    graph(rec).invoke({"n": 0, "log": []}, {"configurable": {"thread_id": "w"}})
    return rec.puts


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def put_get(saver: Any, puts: list[Any], threads: int) -> list[float]:
    """µs per checkpoint: each thread's puts one after another (each the parent of the next,
    as LangGraph writes them), then a get_tuple of the latest."""
    out = []
    for t in range(threads):
        tid = f"b{t}-{uuid.uuid4().hex[:6]}"
        t0 = time.perf_counter_ns()
        parent = None
        for config, checkpoint, metadata, versions in puts:
            conf = {
                "thread_id": tid,
                "checkpoint_ns": config["configurable"].get("checkpoint_ns", ""),
            }
            if parent:
                conf["checkpoint_id"] = parent
            stored = saver.put({"configurable": conf}, checkpoint, metadata, versions)
            parent = stored["configurable"]["checkpoint_id"]
        assert saver.get_tuple({"configurable": {"thread_id": tid}}) is not None
        out.append((time.perf_counter_ns() - t0) / 1000 / (len(puts) + 1))
    return out


def per_step(saver: Any, runs: int) -> list[float]:
    app = graph(saver)
    out = []
    for r in range(runs):
        t0 = time.perf_counter_ns()
        app.invoke(
            {"n": 0, "log": []}, {"configurable": {"thread_id": f"i{r}-{uuid.uuid4().hex[:6]}"}}
        )
        out.append((time.perf_counter_ns() - t0) / 1000 / STEPS)
    return out


def row(
    name: str, ours: list[float], base: list[float] | None, unit: str = "us p50", **kw: Any
) -> dict[str, Any]:
    p50 = _pct(ours, 0.5)
    d: dict[str, Any] = {"name": name, "ours": p50, "baseline": None, "unit": unit}
    d["ours_p50_us"], d["ours_p99_us"] = p50, _pct(ours, 0.99)
    if base:
        b50 = _pct(base, 0.5)
        d["baseline"], d["ratio"] = b50, b50 / p50
        d["baseline_p50_us"], d["baseline_p99_us"] = b50, _pct(base, 0.99)
    d.update(kw)
    return d


def run(
    url: str | None, *, quick: bool = False, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    threads = 50 if quick else 400
    runs = 30 if quick else 200
    puts = workload()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        hub = zerolag.open(root=Path(tmp) / "z", namespace="lg")
        ours = ZerolagSaver(hub)
        conn = sqlite3.connect(str(Path(tmp) / "lg.sqlite"), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        sqlite_saver = SqliteSaver(conn)
        memory = InMemorySaver()
        put_get(ours, puts, 5), put_get(sqlite_saver, puts, 5), put_get(memory, puts, 5)  # warm up
        o = put_get(ours, puts, threads)
        s = put_get(sqlite_saver, puts, threads)
        m = put_get(memory, puts, threads)
        note = f"{len(puts)} checkpoints of a {STEPS}-step graph per thread, {threads} threads"
        rows.append(
            row(
                "put + get_tuple per checkpoint [embedded] vs SqliteSaver "
                "(WAL, synchronous=NORMAL)",
                o,
                s,
                note=note,
            )
        )
        rows.append(
            row(
                "put + get_tuple per checkpoint [embedded] vs InMemorySaver (report)",
                o,
                m,
                note=note,
            )
        )
        log(
            f"  put+get: ours {_pct(o, 0.5):.0f} us, SqliteSaver {_pct(s, 0.5):.0f} us, "
            f"InMemorySaver {_pct(m, 0.5):.0f} us"
        )
        # The floor of a put on the embedded store: one kv write of a record the size of
        # ours (one SQLite transaction), with nothing serialised.
        size = len(hub.kv.get(next(iter(hub.kv.keys("langgraph/c/")))) or b"")
        blob = b"x" * size
        floor: list[float] = []
        for i in range(threads * len(puts) // 10):
            t0 = time.perf_counter_ns()
            hub.kv.set(f"floor/{i}", blob)
            floor.append((time.perf_counter_ns() - t0) / 1000)
        rows.append(
            row(
                f"  floor of a put [embedded]: one kv.set of a {size}-byte record",
                o,
                floor,
                note="one SQLite transaction (WAL, synchronous=NORMAL); ours adds LangGraph's "
                "serialisation and the read of the latest checkpoint",
            )
        )
        oi = per_step(ours, runs)
        mi = per_step(memory, runs)
        rows.append(row("StateGraph.invoke per step [embedded] vs InMemorySaver (report)", oi, mi))
        hub.close()
        conn.close()
        if url:
            with zerolag.open(url, namespace="lg" + uuid.uuid4().hex[:6]) as rhub:
                rs = ZerolagSaver(rhub)
                put_get(rs, puts, 5)
                r = put_get(rs, puts, threads)
                rows.append(
                    row(
                        "put + get_tuple per checkpoint [redis] "
                        "(langgraph-checkpoint-redis needs Redis modules)",
                        r,
                        None,
                        note=note,
                    )
                )
                ri = per_step(rs, runs)
                rows.append(
                    row("StateGraph.invoke per step [redis] vs InMemorySaver (report)", ri, mi)
                )
                rhub.clear()
    rows += mcp_rows.run(url, quick=quick, log=log)
    return rows


if __name__ == "__main__":
    import json

    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else None, quick=True), indent=1))
