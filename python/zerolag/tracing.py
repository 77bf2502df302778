"""OpenTelemetry spans for the paths zerolag drives itself, and the trace context a job
carries from the code that queued it to the worker that runs it.

Nothing here needs OpenTelemetry: without ``opentelemetry-api`` installed, or until the
application sets a tracer provider (``trace.set_tracer_provider``, as configuring the SDK
does), every function is a no-op costing a check. Then zerolag creates spans through that
provider:

- ``zerolag.send``: :meth:`zerolag.DualLoop.send` / ``asend``, one per user message; the jobs
  it queues carry its context in their headers (``traceparent``, ``tracestate``).
- ``zerolag.job``: a worker running a job, a child of the context in the job's headers, so
  one trace follows a user's message from the frontend through the worker.
- ``zerolag.publish``: an event a backend handler emits (``CommandContext.emit``), inside the
  job's span.

Calls on the hub itself (``hub.jobs.enqueue``, ``hub.events.publish``) are not wrapped: they
are single store round trips of a few microseconds. To carry a trace through a job you queue
yourself, pass ``headers=zerolag.tracing.inject()``; the worker's ``zerolag.job`` span then
joins that trace.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

try:  # optional dependency
    from opentelemetry import propagate as _propagate
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - exercised in environments without it
    _trace = None  # type: ignore[assignment]
    _propagate = None  # type: ignore[assignment]

__all__ = ["enabled", "extract", "inject", "span"]

_TRACER_NAME = "zerolag"


_tracer: Any = None
# The API keeps the provider in a module global that stays None until one is set; reading it
# costs nothing, where get_tracer_provider() costs a microsecond or more. Used only when the
# attribute exists and no provider is named in the environment (which the API loads lazily).
_UNSET_FAST = (
    _trace is not None
    and hasattr(_trace, "_TRACER_PROVIDER")
    and "OTEL_PYTHON_TRACER_PROVIDER" not in os.environ
)


def enabled() -> bool:
    """Whether spans are being made: ``opentelemetry-api`` is installed and the application
    has set a tracer provider (the SDK's, or any other). Until one is set every span would be
    a no-op, so zerolag skips them and their cost (a few microseconds each) altogether; once
    one is set (OpenTelemetry allows that once per process) this stays true."""
    global _tracer
    if _tracer is not None:
        return True
    if _trace is None or (_UNSET_FAST and _trace._TRACER_PROVIDER is None):
        return False
    provider = _trace.get_tracer_provider()
    if isinstance(provider, (_trace.ProxyTracerProvider, _trace.NoOpTracerProvider)):
        return False
    _tracer = provider.get_tracer(_TRACER_NAME)
    return True


def inject() -> dict[str, str]:
    """The current trace context as job headers (W3C ``traceparent`` and ``tracestate``
    through the global propagator); empty when tracing is off (:func:`enabled`) or no span
    is active."""
    if _propagate is None or not enabled():
        return {}
    carrier: dict[str, str] = {}
    _propagate.inject(carrier)
    return carrier


def extract(headers: Mapping[str, str] | None) -> Any:
    """The trace context in ``headers`` (a job's), or None."""
    if _propagate is None or not headers:
        return None
    return _propagate.extract(dict(headers))


@contextlib.contextmanager
def span(
    name: str, attributes: Mapping[str, Any] | None = None, *, parent: Any = None
) -> Iterator[Any]:
    """A span named ``name`` (current while the block runs), a child of ``parent`` (a context
    from :func:`extract`) or of the current span. An exception leaving the block is recorded
    and sets the span's status to error. Yields the span, or None without OpenTelemetry."""
    if not enabled():
        yield None
        return
    attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
    with _tracer.start_as_current_span(name, context=parent, attributes=attrs) as s:
        yield s
