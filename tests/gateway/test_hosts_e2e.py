"""Operators disable a host for new work and enable it again; requests naming a
host that does not exist are refused."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def _host(zunray) -> dict:
    [host] = zunray.http.get("/v1/cluster/hosts").json()["hosts"]
    return host


def test_a_disabled_host_takes_no_new_work_until_enabled(zunray):
    host = _host(zunray)
    assert host["enabled"] and "hugepages" in host and "pinned_cpus" in host
    resp = zunray.http.put(
        f"/v1/cluster/hosts/{host['name']}", json={"enabled": False, "reason": "kernel upgrade"}
    )
    assert resp.status_code == 200, resp.text
    try:
        job = zunray.submit(command=["true"])
        time.sleep(1.5)
        waiting = zunray.http.get(f"/v1/jobs/{job['id']}").json()
        assert (
            waiting["status"] == "Queued"
            and "host disabled: kernel upgrade" in waiting["status_reason"]
        )
        assert not _host(zunray)["enabled"]
    finally:
        zunray.http.put(f"/v1/cluster/hosts/{host['name']}", json={"enabled": True})
    assert zunray.wait(job["id"], timeout_s=30)["status"] == "Succeeded"


def test_unknown_hosts_are_refused(zunray):
    assert (
        zunray.http.put("/v1/cluster/hosts/no-such-host", json={"enabled": False}).status_code
        == 404
    )
    resp = zunray.http.post(
        "/v1/containers",
        json={"image": "busybox:latest", "host": "no-such-host"},
        headers={"OpenStack-API-Version": "container 1.40"},
    )
    assert (
        resp.status_code == 400
        and "host no-such-host does not exist" in resp.json()["errors"][0]["detail"]
    )
