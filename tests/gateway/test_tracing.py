"""The gateway's server span per request, against the app itself (no Ray, no store)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from runner.settings import Settings
from tests.spans import in_memory_spans


@pytest.fixture(scope="module")
def app_and_spans(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("tracing"))
    spans = in_memory_spans(settings.data_dir)
    client = TestClient(
        create_app(settings), base_url="http://127.0.0.1", raise_server_exceptions=False
    )
    return client, spans


def traced_get(client, path: str) -> str:
    trace_id = uuid.uuid4().hex
    client.get(path, headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    return trace_id


def spans_of(spans, trace_id: str) -> list:
    return [s for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]


def test_the_request_span_joins_the_callers_trace_and_is_named_after_the_route_template(
    app_and_spans,
):
    client, spans = app_and_spans
    [server] = spans_of(spans, traced_get(client, "/dashboard/no-such.js"))
    assert server.parent.span_id == 0x00F067AA0BA902B7 and server.parent.is_remote
    assert server.name == "GET /dashboard/{asset}"
    assert server.attributes["http.route"] == "/dashboard/{asset}"
    assert 404 in (
        server.attributes.get("http.status_code"),
        server.attributes.get("http.response.status_code"),
    )  # old or new semconv


def test_an_unmatched_path_does_not_become_a_span_name(app_and_spans):
    client, spans = app_and_spans
    [server] = spans_of(spans, traced_get(client, "/v1/nope/123"))
    assert server.name == "GET"


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_monitoring_paths_are_not_traced(app_and_spans, path):
    client, spans = app_and_spans
    assert spans_of(spans, traced_get(client, path)) == []
