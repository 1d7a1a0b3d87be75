"""Zun's quota API shapes (stored and reported; enforcement comes with Keystone)."""

from __future__ import annotations

import pytest

from tests.gateway.zun.conftest import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.ray]

ZUN_DEFAULTS = {"containers": 40, "cpu": 20, "memory": 51200, "disk": 100}


def test_defaults_update_usage_and_delete(zc, made):
    project = "default"
    assert zc.quotas.defaults(project)._info == ZUN_DEFAULTS
    updated = zc.quotas.update(project, containers="10", cpu=8, memory="4096")
    assert updated._info == {"containers": 10, "cpu": 8, "memory": 4096, "disk": 100}
    c = zc.containers.run(image="busybox:latest", command=["sleep", "300"], cpu=0.5, memory="128")
    made.append(c.uuid)
    wait_for(zc, c.uuid, "Running")
    usage = zc.quotas.get(project, usages=True)._info
    assert usage["containers"]["limit"] == 10 and usage["containers"]["in_use"] >= 1
    assert usage["memory"]["in_use"] >= 128
    zc.quotas.delete(project)
    assert zc.quotas.get(project)._info == ZUN_DEFAULTS


def test_quota_class_update(zc):
    before = zc.quota_classes.get("default")._info
    try:
        assert zc.quota_classes.update("default", containers=50)._info["containers"] == 50
        assert zc.quotas.defaults("someone")._info["containers"] == 50
    finally:
        zc.quota_classes.update("default", containers=before["containers"])


@pytest.mark.parametrize(
    "body, field",
    [({"containers": "many"}, "containers"), ({"cpu": -5}, "cpu"), ({"gpus": 1}, "gpus")],
    ids=["not-int", "below-minus-one", "unknown"],
)
def test_bad_quota_values_are_400(zunray, body, field):
    resp = zunray.http.put(
        "/v1/quotas/p1", json=body, headers={"OpenStack-API-Version": "container latest"}
    )
    assert resp.status_code == 400 and field in resp.json()["errors"][0]["detail"]
