"""hub.metrics() and hub.metrics_text() on every backend: operation counters by capability and
outcome, latency histograms, store gauges matching the store (jobs per kind and state, bus
pending per agent, the event log, the cache, the write-back queue), and Prometheus text that
prometheus_client's parser reads."""

from __future__ import annotations

from typing import Any

import pytest
import zerolag
from prometheus_client.parser import text_string_to_metric_families
from zerolag import NotFoundError, ValidationError


def calls(m: Any, capability: str, outcome: str) -> int:
    return sum(
        c["count"]
        for c in m["operations"]
        if c["capability"] == capability and c["outcome"] == outcome
    )


def latency(m: Any, capability: str) -> dict[str, Any]:
    (row,) = [x for x in m["latency"] if x["capability"] == capability]
    return row  # type: ignore[no-any-return]


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(fams: dict[str, Any], family: str, name: str | None = None) -> list[Any]:
    return [s for s in fams[family].samples if name is None or s.name == name]


def test_counters_move_with_ops_and_errors_by_outcome(hub: zerolag.Hub) -> None:
    before = hub.metrics()
    hub.kv.set("a", "1")
    for _ in range(3):
        hub.kv.get("a")
    with pytest.raises(ValidationError):
        hub.jobs.list("ready")  # ready needs a kind
    with pytest.raises(NotFoundError):
        hub.jobs.get("nope")
    after = hub.metrics()
    assert calls(after, "kv", "ok") - calls(before, "kv", "ok") >= 4
    assert calls(after, "jobs", "not_found") - calls(before, "jobs", "not_found") >= 1
    # A validation error raised while the arguments are read never reaches the store, and
    # one raised by the operation counts as an outcome of its own.
    with pytest.raises(ValidationError):
        hub.kv.set("", "x")
    again = hub.metrics()
    assert calls(again, "kv", "validation") - calls(after, "kv", "validation") == 1
    lat, lat0 = latency(again, "kv"), latency(before, "kv") if calls(before, "kv", "ok") else None
    assert lat["count"] - (lat0["count"] if lat0 else 0) >= 5
    bounds = [b[0] for b in lat["buckets"]]
    assert bounds[0] == 0.00005 and bounds == sorted(bounds) and bounds[-1] > 10
    counts = [b[1] for b in lat["buckets"]]
    assert counts == sorted(counts) and counts[-1] <= lat["count"]
    assert lat["sum_seconds"] > 0


def test_async_calls_are_counted(arun: Any, async_hub: Any) -> None:
    async def go() -> tuple[Any, Any]:
        before = await async_hub.metrics()
        await async_hub.kv.set("a", "1")
        await async_hub.kv.get("a")
        try:
            await async_hub.jobs.get("nope")
        except NotFoundError:
            pass
        return before, await async_hub.metrics()

    before, after = arun(go())
    assert calls(after, "kv", "ok") - calls(before, "kv", "ok") >= 2
    assert calls(after, "jobs", "not_found") - calls(before, "jobs", "not_found") >= 1


def test_gauges_match_the_store(hub: zerolag.Hub) -> None:
    hub.jobs.enqueue_many([{"kind": "email", "payload": i} for i in range(5)])
    hub.jobs.enqueue_many([{"kind": "sms", "payload": i, "delay": 60} for i in range(2)])
    (c,) = hub.jobs.claim("email")
    hub.jobs.fail(c, "boom", retry=False)
    hub.bus.register("alice", kinds=["task"])
    hub.bus.register("bob", kinds=["task"])
    hub.bus.share("alice", "bob", {"n": 1})
    hub.bus.share("alice", "bob", {"n": 2})
    hub.bus.share("bob", "alice", {"n": 3})
    for i in range(4):
        hub.events.publish("orders.new", {"n": i})
    last = hub.events.last_id()
    hub.cache.set("k", "v")
    hub.cache.get("k")
    hub.cache.get("missing")
    m = hub.metrics()
    assert m["backend"] == hub.backend and m["namespace"] == hub.namespace
    assert m["version"] == zerolag.__version__
    assert m["jobs"]["counts"] == hub.jobs.counts()
    assert {(r["kind"], r["state"]): r["count"] for r in m["jobs"]["counts"]} == {
        ("email", "ready"): 4,
        ("email", "dead"): 1,
        ("sms", "delayed"): 2,
    }
    assert m["jobs"]["dead"] == 1
    agents = {a["agent"]: a["pending"] for a in m["bus"]["agents"]}
    assert agents == {"alice": 1, "bob": 2}
    assert m["bus"]["pending"] == 3 and m["bus"]["messages"] == 3
    assert m["events"] == {"count": 4, "last_id": last}
    assert m["cache"]["hits"] == 1 and m["cache"]["misses"] == 1
    assert m["cache"]["hit_ratio"] == 0.5
    assert m["store"]["rtt_ms"] >= 0
    assert m["sync"]["running"] is False and m["sync"]["conflicts"] is None
    # Documents written through the API wait for a write-back while no sync runs.
    hub.docs.put("contexts/a.yaml", {"x": 1})
    m = hub.metrics()
    assert m["sync"]["pending_writebacks"] == 1
    assert m["sync"]["lag_ms"] is not None and m["sync"]["lag_ms"] >= 0

    fams = families(hub.metrics_text())
    jobs = {(s.labels["kind"], s.labels["state"]): s.value for s in samples(fams, "zerolag_jobs")}
    assert jobs == {("email", "ready"): 4, ("email", "dead"): 1, ("sms", "delayed"): 2}
    pend = {s.labels["agent"]: s.value for s in samples(fams, "zerolag_bus_pending")}
    assert pend == {"alice": 1, "bob": 2}
    assert samples(fams, "zerolag_events_log_length")[0].value == 4
    assert samples(fams, "zerolag_jobs_dead")[0].value == 1
    assert samples(fams, "zerolag_sync_pending_writebacks")[0].value == 1
    assert samples(fams, "zerolag_cache_hit_ratio")[0].value == 0.5


def test_prometheus_text_parses_with_types_and_escaped_labels(hub: zerolag.Hub) -> None:
    kind = "a.b:c/d@e+f=g"  # every character a job kind may hold beyond letters and digits
    hub.jobs.enqueue(kind, 1)
    hub.bus.register("agent-1", kinds=["x"])
    hub.kv.get("missing")
    text = hub.metrics_text()
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line.startswith(("# HELP zerolag_", "# TYPE zerolag_", "zerolag_")), line
    fams = families(text)
    types = {name: f.type for name, f in fams.items()}
    assert types["zerolag_operations"] == "counter"
    assert types["zerolag_operation_duration_seconds"] == "histogram"
    assert types["zerolag_jobs"] == "gauge"
    assert types["zerolag_store_rtt_seconds"] == "gauge"
    (info,) = samples(fams, "zerolag_info")
    assert info.labels == {
        "version": zerolag.__version__,
        "backend": hub.backend,
        "namespace": hub.namespace,
    }
    assert samples(fams, "zerolag_jobs")[0].labels == {"kind": kind, "state": "ready"}
    ok = [s for s in samples(fams, "zerolag_operations") if s.labels["capability"] == "kv"]
    assert ok and all(s.name == "zerolag_operations_total" for s in ok)
    # Histogram: cumulative buckets ending in +Inf equal to the count.
    hist = [
        s
        for s in fams["zerolag_operation_duration_seconds"].samples
        if s.labels.get("capability") == "kv"
    ]
    buckets = [s for s in hist if s.name.endswith("_bucket")]
    assert buckets[-1].labels["le"] == "+Inf"
    values = [s.value for s in buckets]
    assert values == sorted(values)
    (count,) = [s for s in hist if s.name.endswith("_count")]
    assert count.value == values[-1] >= 1


def test_scrape_with_many_jobs_and_agents(hub: zerolag.Hub) -> None:
    hub.jobs.enqueue_many([{"kind": f"k{i % 10}", "payload": i} for i in range(10_000)])
    for i in range(100):
        hub.bus.register(f"agent{i}", kinds=["x"])
    m = hub.metrics()
    assert sum(r["count"] for r in m["jobs"]["counts"]) == 10_000
    assert len(m["bus"]["agents"]) == 100
    fams = families(hub.metrics_text())
    assert sum(s.value for s in samples(fams, "zerolag_jobs")) == 10_000
