"""OpenTelemetry set-up and the helpers that join one job's spans into one trace.

The gateway starts the trace; the W3C trace context is stored with the job
(``Job.trace_context``) and the placement and node actors continue it, so the
HTTP request, the placement decision and the node's run (image, create, start,
wait) form one trace across Ray processes.

Exporter by configuration (``Settings.trace_exporter``): ``none``, ``console``,
``file:<path>`` (one JSON object per span and line, appended; several
processes may share the file) or ``otlp:<endpoint>`` (needs the
``opentelemetry-exporter-otlp-proto-http`` package). Spans leave through a
batch processor: ending a span only queues it, and a background thread exports,
so no exporter's I/O runs on the gateway's event loop.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased

from runner.settings import Settings

_configured = False
# the dashboard's timeline and the tests read the trace file while jobs run: export it soon after a span ends
# (the SDK's default is 5 s); a process killed without exit handlers loses at most this much
FILE_EXPORT_DELAY_MS = 200


class JsonLinesExporter(SpanExporter):
    """Appends each span as one JSON line to a file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(json.dumps(span_dict(s)) + "\n" for s in spans)
        with self._lock, open(self.path, "a") as f:
            f.write(lines)
        return SpanExportResult.SUCCESS


def span_dict(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    return {
        "name": span.name,
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "service": span.resource.attributes.get("service.name"),
        "attributes": dict(span.attributes or {}),
        "start_ns": span.start_time,
        "end_ns": span.end_time,
    }


def _exporter(spec: str) -> SpanExporter | None:
    if spec == "none":
        return None
    if spec == "console":
        return ConsoleSpanExporter()
    if spec.startswith("file:"):
        return JsonLinesExporter(spec.removeprefix("file:"))
    if spec.startswith("otlp:"):
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise ValueError(
                "trace_exporter otlp needs the opentelemetry-exporter-otlp-proto-http package"
            ) from exc
        return OTLPSpanExporter(endpoint=spec.removeprefix("otlp:"))
    raise ValueError(
        f"unknown trace_exporter {spec!r}: use none, console, file:<path> or otlp:<endpoint>"
    )


def setup_tracing(settings: Settings, service: str) -> None:
    """Install this process's tracer provider once."""
    global _configured
    if _configured:
        return
    chosen = _exporter(settings.trace_exporter)
    # with nowhere to export, record nothing: spans stay non-recording (the trace context still flows, so a job
    # keeps its caller's trace id) and the gateway's server span costs a third of what a recorded one does
    sampler = (
        ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
        if chosen is not None
        else ALWAYS_OFF
    )
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
    if chosen is not None:
        delay_ms = FILE_EXPORT_DELAY_MS if settings.trace_exporter.startswith("file:") else None
        provider.add_span_processor(BatchSpanProcessor(chosen, schedule_delay_millis=delay_ms))
    # the provider's exit handler (shutdown_on_exit) exports what is still queued when the process ends
    trace.set_tracer_provider(provider)
    _configured = True


def flush_tracing(timeout_ms: int = 5000) -> None:
    """Export the spans still queued (a gateway that stops; the process's exit handler does it too)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_ms)


def tracer() -> trace.Tracer:
    return trace.get_tracer("zunray")


def current_carrier() -> dict[str, str]:
    """The current trace context as a W3C carrier, to store with a job."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextlib.contextmanager
def continued(carrier: dict[str, str], name: str, **attributes: Any) -> Iterator[trace.Span]:
    """A span that continues the trace stored in ``carrier``."""
    with tracer().start_as_current_span(
        name, context=propagate.extract(carrier), attributes=attributes
    ) as span:
        yield span
