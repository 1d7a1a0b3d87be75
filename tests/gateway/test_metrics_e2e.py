"""GET /metrics: Prometheus text with the queues, placement, functions and hosts."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def _scrape(zunray) -> dict[str, list]:
    resp = zunray.http.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(resp.text)}


def test_metrics_show_queues_placement_functions_and_hosts(zunray):
    big = zunray.submit(command=["true"], resources={"cpu": 64, "memory_mb": 32})
    code = "def handle(event):\n    return event\n"
    assert (
        zunray.http.post(
            "/v1/functions",
            json={
                "name": "metered",
                "image": "zunray/python:3.11",
                "handler": "app:handle",
                "code": code,
            },
        ).status_code
        == 201
    )
    try:
        for i in range(3):
            assert zunray.http.post("/v1/functions/metered/invoke", json=i).status_code == 200
        assert zunray.wait(zunray.submit(command=["true"])["id"])["status"] == "Succeeded"
        time.sleep(0.5)
        m = _scrape(zunray)
        assert any(
            s.labels == {"project": "default"} and s.value >= 1 for s in m["zunray_queue_depth"]
        )
        assert any(
            s.labels == {"project": "default"} and s.value >= 1 for s in m["zunray_capsules_placed"]
        )  # the warm instance
        assert any(
            s.name == "zunray_placement_latency_seconds_count" and s.value >= 1
            for s in m["zunray_placement_latency_seconds"]
        )
        assert m["zunray_placement_decisions"][0].value >= 1
        assert any(
            s.labels["runtime"] == "runc" and s.value >= 1 for s in m["zunray_containers_created"]
        )
        cold = {s.labels["function"]: s.value for s in m["zunray_function_cold_starts"]}
        warm = {s.labels["function"]: s.value for s in m["zunray_function_warm_hits"]}
        assert (cold["metered"], warm["metered"]) == (1, 2)
        assert m["zunray_host_cpu_cores"][0].value >= 1 and m["zunray_host_up"][0].value == 1
        assert any(
            s.name == "zunray_store_latency_seconds_count" and s.value >= 1
            for s in m["zunray_store_latency_seconds"]
        )
    finally:
        zunray.http.post(f"/v1/jobs/{big['id']}/cancel")
        zunray.http.delete("/v1/functions/metered")
