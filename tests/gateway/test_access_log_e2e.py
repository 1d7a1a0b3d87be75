"""On the running stack: a caller's traceparent joins the job's trace; the gateway's log has an access line per request."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def test_an_incoming_traceparent_makes_the_job_part_of_the_callers_trace(zunray):
    trace_id, parent_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    resp = zunray.http.post(
        "/v1/jobs",
        json={
            "image": "busybox:latest",
            "command": ["true"],
            "resources": {"cpu": 0.25, "memory_mb": 64},
        },
        headers={"traceparent": f"00-{trace_id}-{parent_span}-01"},
    )
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert zunray.wait(job_id)["status"] == "Succeeded"
    deadline = time.monotonic() + 10
    while (timeline := zunray.http.get(f"/v1/jobs/{job_id}/trace").json())[
        "source"
    ] != "traces" or not (
        {"zunray-placement", "zunray-node"} <= {s["service"] for s in timeline["spans"]}
    ):
        assert time.monotonic() < deadline, timeline
        time.sleep(0.2)
    assert timeline["trace_id"] == trace_id
    spans = [
        s
        for s in map(
            json.loads, (zunray.settings.data_dir / "traces.jsonl").read_text().splitlines()
        )
        if s["trace_id"] == trace_id
    ]
    [server] = [
        s for s in spans if s["parent_id"] == parent_span
    ]  # the gateway's span for the request, under the caller's
    assert server["service"] == "zunray-gateway" and server["name"] == "POST /v1/jobs"
    submit = next(s for s in spans if s["name"] == "job.submit")
    assert submit["parent_id"] == server["span_id"] and submit["attributes"]["zunray.job"] == job_id


def test_the_gateway_log_has_one_access_line_per_request(zunray):
    mine = f"req-{uuid.uuid4()}"
    job = zunray.submit(command=["true"])
    resp = zunray.http.get(
        f"/v1/jobs/{job['id']}",
        headers={"X-OpenStack-Request-ID": mine, "X-Project-Id": "p-access"},
    )
    assert resp.status_code == 404  # another project's job
    assert resp.headers["x-openstack-request-id"] == mine
    log = zunray.settings.data_dir / "logs" / "gateway.log"
    deadline = time.monotonic() + 5
    while not (
        lines := [line for line in log.read_text().splitlines() if f"request_id={mine}" in line]
    ):
        assert time.monotonic() < deadline, "no access line"
        time.sleep(0.1)
    [line] = lines
    assert re.search(
        r"zunray\.access request_id=req-\S+ project=p-access method=GET route=/v1/jobs/\{job_id\} status=404 duration_ms=[0-9.]+ ",
        line,
    )
