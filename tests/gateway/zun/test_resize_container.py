"""resize_container (1.19+) through python-zunclient's own HTTP client (zunclient has no method for
it): the live limits change in Docker, the views show them, the project's quota holds (403) and
Zun's states are kept (409)."""

from __future__ import annotations

import math

import pytest
from zunclient import exceptions as zexc

from tests.gateway.zun.conftest import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.ray]

MIB = 1024 * 1024


def resize_container(zc, uuid: str, **body):
    resp, view = zc.containers.api.json_request(
        "POST", f"/v1/containers/{uuid}/resize_container", body=body
    )
    assert resp.status_code == 202
    return view


def _limits(zunray, uuid: str) -> tuple[int, int]:
    [c] = zunray.containers(uuid=uuid)
    return c.attrs["HostConfig"]["NanoCpus"], c.attrs["HostConfig"]["Memory"]


def test_resize_changes_the_live_limits_and_the_views(zc, zunray, made):
    c = zc.containers.run(image="busybox:latest", command=["sleep", "600"], cpu=0.5, memory="128")
    made.append(c.uuid)
    wait_for(zc, c.uuid, "Running")
    view = resize_container(zc, c.uuid, cpu=1, memory="256")
    assert (view["cpu"], view["memory"]) == (1.0, "256")
    assert _limits(zunray, c.uuid) == (1_000_000_000, 256 * MIB)
    shown = zc.containers.get(c.uuid)
    assert (shown.cpu, shown.memory, shown.status) == (1.0, "256", "Running")
    zc.containers.stop(c.uuid, timeout=1)  # Zun resizes a stopped container too
    wait_for(zc, c.uuid, "Stopped")
    assert resize_container(zc, c.uuid, memory="64")["memory"] == "64"
    assert _limits(zunray, c.uuid) == (1_000_000_000, 64 * MIB)
    zc.containers.start(c.uuid)
    assert wait_for(zc, c.uuid, "Running").cpu == 1.0


def test_resize_past_the_quota_is_403_and_changes_nothing(zc, zunray, made):
    c = zc.containers.run(image="busybox:latest", command=["sleep", "600"], cpu=1, memory="64")
    made.append(c.uuid)
    wait_for(zc, c.uuid, "Running")
    in_use = zc.quotas.get("default", usages=True)._info["cpu"]["in_use"]
    limit = math.floor(in_use) + 1  # cpu quotas are whole cores
    room = limit - in_use  # what this container may still grow by
    zc.quotas.update("default", cpu=limit)
    try:
        with pytest.raises(zexc.Forbidden, match="Quota exceeded for resources: \\['cpu'\\]"):
            resize_container(zc, c.uuid, cpu=1 + room + 0.5)
        assert zc.containers.get(c.uuid).cpu == 1.0 and _limits(zunray, c.uuid)[0] == 10**9
        assert resize_container(zc, c.uuid, cpu=1 + room)["cpu"] == 1 + room  # the last of it
        assert resize_container(zc, c.uuid, memory="32")["memory"] == "32"  # cpu did not grow
    finally:
        zc.quotas.delete("default")


def test_resize_in_a_state_zun_refuses_is_409_and_before_1_19_is_406(zc, zunray, made):
    c = zc.containers.run(image="zunray-test/absent:1", command=["true"])
    made.append(c.uuid)
    wait_for(zc, c.uuid, "Error")
    with pytest.raises(zexc.Conflict, match=f"Cannot resize_container container {c.uuid} in Error"):
        resize_container(zc, c.uuid, cpu=1)
    old = zunray.http.post(
        f"/v1/containers/{c.uuid}/resize_container",
        json={"cpu": 1},
        headers={"OpenStack-API-Version": "container 1.18"},
    )
    assert old.status_code == 406
    bad = zunray.http.post(
        f"/v1/containers/{c.uuid}/resize_container",
        json={"cpu": 1, "name": "x"},
        headers={"OpenStack-API-Version": "container 1.19"},
    )
    assert bad.status_code == 400 and "name" in bad.json()["errors"][0]["detail"]
