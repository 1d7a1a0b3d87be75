from __future__ import annotations

from runner.telemetry import continued, current_carrier, tracer
from tests.spans import in_memory_spans


def test_a_stored_carrier_continues_the_trace_in_another_place(tmp_path):
    exporter = in_memory_spans(tmp_path)
    with tracer().start_as_current_span("request") as request:
        carrier = current_carrier()
    assert "traceparent" in carrier
    with continued(carrier, "elsewhere", **{"zunray.job": "j1"}):
        pass
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["elsewhere"].context.trace_id == request.get_span_context().trace_id
    assert spans["elsewhere"].parent.span_id == request.get_span_context().span_id
    assert spans["elsewhere"].attributes["zunray.job"] == "j1"
