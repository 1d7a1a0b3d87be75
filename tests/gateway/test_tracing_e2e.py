"""One trace per job, from the HTTP request through placement to the container."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]

EXPECTED = {
    "job.submit",
    "placement.decide",
    "node.run",
    "image.ensure",
    "container.create",
    "container.start",
    "container.wait",
}


def spans_of_trace(path, trace_id):
    return [s for s in map(json.loads, path.read_text().splitlines()) if s["trace_id"] == trace_id]


def test_a_job_is_one_trace_across_gateway_placement_and_node(zunray):
    job = zunray.submit(command=["true"])
    assert zunray.wait(job["id"])["status"] == "Succeeded"
    path = zunray.settings.data_dir / "traces.jsonl"
    deadline = time.monotonic() + 10
    while True:
        spans = (
            [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        )
        roots = [
            s
            for s in spans
            if s["name"] == "job.submit" and s["attributes"].get("zunray.job") == job["id"]
        ]
        if roots:
            trace = spans_of_trace(path, roots[0]["trace_id"])
            if EXPECTED <= {s["name"] for s in trace}:
                break
        assert time.monotonic() < deadline, f"spans so far: {sorted({s['name'] for s in spans})}"
        time.sleep(0.2)
    by_name = {s["name"]: s for s in trace}
    [root] = [s for s in trace if s["parent_id"] is None]
    assert root["service"] == "zunray-gateway"  # the HTTP request starts the trace
    submit = by_name["job.submit"]
    assert by_name["placement.decide"]["parent_id"] == submit["span_id"]
    assert by_name["node.run"]["parent_id"] == submit["span_id"]
    for child in ("image.ensure", "container.create", "container.start", "container.wait"):
        assert by_name[child]["parent_id"] == by_name["node.run"]["span_id"]
    assert {s["service"] for s in trace} == {"zunray-gateway", "zunray-placement", "zunray-node"}
