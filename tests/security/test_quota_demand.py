"""Attack suite, item 6: quotas count what placement reserves (init containers at their peak)."""

from __future__ import annotations

import pytest

from tests.tenancy import delete_and_wait

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def _capsule(init_mb: int, app_mb: int) -> dict:
    return {
        "template": {
            "kind": "capsule",
            "metadata": {"name": "peak"},
            "spec": {
                "initContainers": [
                    {
                        "name": "seed",
                        "image": "busybox:latest",
                        "command": ["true"],
                        "resources": {"requests": {"cpu": 0.1, "memory": init_mb}},
                    }
                ],
                "containers": [
                    {
                        "name": "app",
                        "image": "busybox:latest",
                        "command": ["sleep", "60"],
                        "resources": {"requests": {"cpu": 0.1, "memory": app_mb}},
                    }
                ],
            },
        }
    }


def test_a_capsules_init_container_counts_at_its_peak_against_the_quota(as_user, keystone):
    alice, carol = as_user("alice"), as_user("carol")
    p1 = keystone.projects["p1"]["id"]
    put = carol.put(f"/v1/quotas/{p1}", json={"memory": 300})
    assert put.status_code == 200, put.text
    try:
        # apps alone (64 MB) fit under 300 MB; the 512 MB init container, which placement reserves, does not
        resp = alice.post("/v1/capsules", json=_capsule(512, 64))
        assert resp.status_code == 403, resp.text
        assert resp.json()["errors"][0]["code"] == "container.over-quota"
        fits = alice.post("/v1/capsules", json=_capsule(128, 64))
        assert fits.status_code == 202, fits.text
        delete_and_wait(alice, f"/v1/capsules/{fits.json()['uuid']}")
    finally:
        carol.delete(f"/v1/quotas/{p1}")
