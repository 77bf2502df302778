"""Job headers on every backend, and OpenTelemetry traces that follow a user's message from
``DualLoop.send`` through the worker's job to the events it publishes (zerolag.tracing)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import zerolag
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from zerolag import protocol, tracing
from zerolag.llm import RuleBasedFrontend

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """The spans finished during the test (the SDK installed once per process: OpenTelemetry
    takes one global tracer provider)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    return _EXPORTER


def by_name(exporter: InMemorySpanExporter, name: str) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


# ------------------------------------------------------------------------- job headers


def test_headers_travel_with_the_job(hub: zerolag.Hub) -> None:
    h = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tenant": "é"}
    job = hub.jobs.enqueue("mail", {"to": "x"}, headers=h)
    assert job.headers == h and hub.jobs.get(job.id).headers == h
    plain = hub.jobs.enqueue("mail", 1)
    assert plain.headers == {} and hub.jobs.get(plain.id).headers == {}
    many = hub.jobs.enqueue_many([{"kind": "mail", "payload": 2, "headers": {"a": "1"}}])
    assert hub.jobs.get(many[0].id).headers == {"a": "1"}
    claims = hub.jobs.claim(["mail"], count=10, worker="w1")
    assert sorted((c.payload if isinstance(c.payload, int) else 0, c.headers) for c in claims) == [
        (0, h),
        (1, {}),
        (2, {"a": "1"}),
    ]


def test_headers_survive_export_and_import(hub: zerolag.Hub, tmp_path: Path) -> None:
    job = hub.jobs.enqueue("mail", None, headers={"k": "v"})
    hub.export(tmp_path / "dump.jsonl")
    hub.clear()
    hub.import_(tmp_path / "dump.jsonl")
    assert hub.jobs.get(job.id).headers == {"k": "v"}


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({f"h{i}": "v" for i in range(33)}, zerolag.ValidationError),
        ({"bad name": "v"}, zerolag.ValidationError),
        ({"k": "x" * 1025}, zerolag.ValidationError),
        ({"k": "line\nbreak"}, zerolag.ValidationError),
        ({"k": "\ud800"}, zerolag.ValidationError),
        ({"k": 1}, TypeError),
        (["k"], TypeError),
    ],
)
def test_bad_headers_are_refused_and_nothing_is_queued(
    hub: zerolag.Hub, headers: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        hub.jobs.enqueue("mail", None, headers=headers)
    with pytest.raises(error):
        hub.jobs.enqueue_many([{"kind": "mail"}, {"kind": "mail", "headers": headers}])
    assert hub.jobs.list("ready", kind="mail").jobs == []


def test_worker_handlers_see_the_headers(hub: zerolag.Hub) -> None:
    seen: list[dict[str, str]] = []
    hub.jobs.enqueue("mail", None, headers={"corr": "c-1"})
    hub.jobs.worker({"mail": lambda ctx: seen.append(ctx.headers)}).run(burst=True)
    assert seen == [{"corr": "c-1"}]


# ---------------------------------------------------------------------------- traces


def make_loop(hub: zerolag.Hub) -> zerolag.DualLoop:
    loop = zerolag.DualLoop(hub, RuleBasedFrontend())

    @loop.command("tc")
    def create(cmd: protocol.TaskCreate, ctx: zerolag.CommandContext) -> Any:
        ctx.progress(0.5)
        return {"title": cmd.title}

    return loop


def test_one_trace_from_send_through_the_job_to_its_events(
    hub: zerolag.Hub, spans: InMemorySpanExporter
) -> None:
    loop = make_loop(hub)
    r = loop.send("s1", "Create an auth system for the app")
    assert len(r.jobs) == 1
    assert hub.jobs.get(r.jobs[0]).headers["traceparent"].startswith("00-")
    assert loop.run_backend(burst=True).succeeded == 1
    (send,) = by_name(spans, "zerolag.send")
    (job,) = by_name(spans, "zerolag.job")
    publishes = by_name(spans, "zerolag.publish")
    assert len(publishes) == 3  # su started, su in_progress, tc
    trace_id = send.context.trace_id
    assert job.context.trace_id == trace_id and job.parent.span_id == send.context.span_id
    assert job.attributes["zerolag.job.id"] == r.jobs[0]
    for p in publishes:
        assert p.context.trace_id == trace_id and p.parent.span_id == job.context.span_id
        assert p.attributes["zerolag.event"] in ("su", "tc")
    assert send.attributes["zerolag.session"] == "s1"


def test_asend_traces_the_same_way(hub: zerolag.Hub, spans: InMemorySpanExporter) -> None:
    loop = make_loop(hub)

    async def go() -> zerolag.Reply:
        return await loop.asend("s2", "Create an auth system for the app")

    r = asyncio.run(go())
    assert loop.run_backend(burst=True).succeeded == 1
    (send,) = by_name(spans, "zerolag.send")
    (job,) = by_name(spans, "zerolag.job")
    assert hub.jobs.get(r.jobs[0]).headers
    assert job.context.trace_id == send.context.trace_id


def test_a_failing_job_records_the_error_in_its_span(
    hub: zerolag.Hub, spans: InMemorySpanExporter
) -> None:
    def boom(ctx: Any) -> None:
        raise RuntimeError("no such mailbox")

    with trace.get_tracer("test").start_as_current_span("request") as parent:
        hub.jobs.enqueue("mail", None, max_attempts=1, headers=tracing.inject())
    hub.jobs.worker({"mail": boom}).run(burst=True)
    (job,) = by_name(spans, "zerolag.job")
    assert job.context.trace_id == parent.get_span_context().trace_id
    assert job.status.status_code == trace.StatusCode.ERROR
    assert any(e.name == "exception" for e in job.events)


@pytest.mark.parametrize("runtime", ["run", "run_async"])
def test_async_handlers_run_in_the_jobs_trace(
    hub: zerolag.Hub, spans: InMemorySpanExporter, runtime: str
) -> None:
    async def handler(ctx: Any) -> str:
        return format(trace.get_current_span().get_span_context().trace_id, "032x")

    with trace.get_tracer("test").start_as_current_span("request") as parent:
        job = hub.jobs.enqueue("mail", None, headers=tracing.inject())
    worker = hub.jobs.worker({"mail": handler})
    if runtime == "run":
        worker.run(burst=True)
    else:
        asyncio.run(worker.run_async(burst=True))
    assert hub.jobs.get(job.id).result == format(parent.get_span_context().trace_id, "032x")
    (span,) = by_name(spans, "zerolag.job")
    assert span.context.trace_id == parent.get_span_context().trace_id


def test_without_a_tracer_provider_nothing_is_traced(tmp_path: Path) -> None:
    """A process that never set a tracer provider makes no spans and sends no headers."""
    code = f"""
import zerolag
from zerolag import protocol, tracing
from zerolag.llm import RuleBasedFrontend
hub = zerolag.open(root={str(tmp_path)!r})
loop = zerolag.DualLoop(hub, RuleBasedFrontend())
loop.command("tc")(lambda cmd, ctx: None)
r = loop.send("s", "Create an auth system for the app")
assert not tracing.enabled() and tracing.inject() == {{}}
assert hub.jobs.get(r.jobs[0]).headers == {{}}, hub.jobs.get(r.jobs[0]).headers
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_no_span_no_headers(spans: InMemorySpanExporter) -> None:
    assert "traceparent" not in tracing.inject()
    with trace.get_tracer("test").start_as_current_span("request"):
        assert tracing.inject()["traceparent"].startswith("00-")
    assert tracing.extract(None) is None and tracing.extract({}) is None
