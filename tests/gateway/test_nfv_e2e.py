"""Dedicated (pinned) cpus for NFV jobs on a real host (2 cpus: one may be pinned)."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def test_dedicated_job_is_pinned_and_shared_work_stays_off_its_cpu(zunray):
    pinned = zunray.submit(command=["sleep", "30"], resources={"cpu": 1, "memory_mb": 32}, cpu_policy="dedicated")
    try:
        zunray.wait(pinned["id"], until=("Running",))
        [pc] = zunray.containers(uuid=pinned["id"])
        cpus = pc.attrs["HostConfig"]["CpusetCpus"]
        assert cpus in ("0", "1") and pc.attrs["HostConfig"]["CpusetMems"] == "0"
        shared = zunray.submit(command=["sleep", "30"], resources={"cpu": 0.25, "memory_mb": 16})
        zunray.wait(shared["id"], until=("Running",))
        [sc] = zunray.containers(uuid=shared["id"])
        assert cpus not in sc.attrs["HostConfig"]["CpusetCpus"].split(",")
        second = zunray.submit(command=["true"], resources={"cpu": 1, "memory_mb": 16}, cpu_policy="dedicated")
        time.sleep(3)  # a heartbeat or two
        waiting = zunray.http.get(f"/v1/jobs/{second['id']}").json()
        assert waiting["status"] == "Queued" and "free to pin" in waiting["status_reason"]
        zunray.http.post(f"/v1/jobs/{pinned['id']}/cancel")
        assert zunray.wait(second["id"], timeout_s=30)["status"] == "Succeeded"  # the cpu came back
    finally:
        for job in zunray.http.get("/v1/jobs", params={"status": ["Queued", "Running"]}).json()["jobs"]:
            zunray.http.post(f"/v1/jobs/{job['id']}/cancel")


def test_dedicated_needs_whole_cpus(zunray):
    resp = zunray.http.post("/v1/jobs", json={"image": "busybox:latest", "resources": {"cpu": 0.5}, "cpu_policy": "dedicated"})
    assert resp.status_code == 422 and "cpu_policy" in resp.json()["errors"][0]["detail"]
