"""Spans of this test process, in memory (the tracer provider is installed once per process)."""

from __future__ import annotations

from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from runner.settings import Settings
from runner.telemetry import setup_tracing


def in_memory_spans(tmp_path: Path) -> InMemorySpanExporter:
    """A new exporter that sees every span ended from now on (synchronously)."""
    setup_tracing(
        Settings(data_dir=tmp_path, trace_exporter=f"file:{tmp_path / 'traces.jsonl'}"), "test"
    )  # an exporter: spans record
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    return exporter
