"""Item 11, no cross-project oracles: bob (p2) learns nothing of alice's (p1) objects
through affinity, anti-affinity, ``why``, list markers or error texts."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from tests.tenancy import delete_and_wait

pytestmark = [pytest.mark.docker, pytest.mark.ray]

SMALL = {"cpu": 0.1, "memory_mb": 16}
DB = {
    "image": "busybox:latest",
    "command": ["sleep", "120"],
    "resources": SMALL,
    "labels": {"app": "db"},
}
CONTAINER = {"image": "busybox:latest", "command": ["sleep", "300"], "cpu": 0.1, "memory": 16}
CAPSULE = {
    "template": {
        "kind": "capsule",
        "metadata": {"name": "oracle"},
        "spec": {
            "containers": [
                {
                    "image": "busybox:latest",
                    "command": ["sleep", "300"],
                    "resources": {"requests": {"cpu": 0.1, "memory": 16}},
                }
            ]
        },
    }
}


def _until(
    client: httpx.Client, job_id: str, statuses: tuple[str, ...], timeout_s: float = 60
) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(f"/v1/jobs/{job_id}", params={"wait_s": 0.5}).json()
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job['status_reason']}"


@pytest.fixture
def p1_db(as_user):
    """A running p1 job labelled app=db."""
    alice = as_user("alice")
    job = alice.post("/v1/jobs", json=DB).json()
    try:
        _until(alice, job["id"], ("Running",))
        yield job
    finally:
        alice.post(f"/v1/jobs/{job['id']}/cancel")


def test_anti_affinity_ignores_another_projects_labels(p1_db, as_user):
    bob = as_user("bob")
    apart = bob.post(
        "/v1/jobs",
        json={
            "image": "busybox:latest",
            "command": ["true"],
            "resources": SMALL,
            "anti_affinity": {"app": "db"},
        },
    ).json()
    done = _until(bob, apart["id"], ("Succeeded", "Failed", "Cancelled", "TimedOut"), timeout_s=30)
    assert done["status"] == "Succeeded", done["status_reason"]  # p1's db repels nothing of p2


def test_affinity_and_why_show_nothing_of_another_project(p1_db, as_user):
    bob = as_user("bob")
    near = bob.post(
        "/v1/jobs",
        json={
            "image": "busybox:latest",
            "command": ["true"],
            "resources": SMALL,
            "affinity": {"app": "db"},
        },
    ).json()
    try:
        time.sleep(1.0)  # a placement round or two
        job = bob.get(f"/v1/jobs/{near['id']}").json()
        assert job["status"] == "Queued", "p1's db attracted p2's job"
        why = bob.get(f"/v1/jobs/{near['id']}/why")
        assert why.status_code == 200
        reasons = why.json()["reasons"]
        assert reasons and all(r == "no capsule labelled app=db here" for r in reasons.values()), (
            reasons
        )
        assert p1_db["id"] not in why.text and "runs here" not in why.text
    finally:
        bob.post(f"/v1/jobs/{near['id']}/cancel")


def _shape(resp: httpx.Response, ident: str) -> tuple[int, dict]:
    """Status and body with the asked id and the request id taken out."""
    body = resp.json()
    for err in body.get("errors", []):
        err.pop("request_id", None)
    return resp.status_code, json.loads(json.dumps(body).replace(ident, "<id>"))


def test_another_projects_marker_answers_like_an_unknown_one(as_user):
    alice, bob, carol = as_user("alice"), as_user("bob"), as_user("carol")
    job = alice.post(
        "/v1/jobs", json={"image": "busybox:latest", "command": ["true"], "resources": SMALL}
    ).json()
    ctr = alice.post("/v1/containers", json=CONTAINER).json()
    cap = alice.post("/v1/capsules", json=CAPSULE).json()
    reg = alice.post(
        "/v1/registries",
        json={
            "registry": {
                "name": f"r{uuid.uuid4().hex[:6]}",
                "domain": "127.0.0.1:5999",
                "username": "u",
                "password": "p",
            }
        },
    ).json()
    try:
        for path, marker in (
            ("/v1/jobs", job["id"]),
            ("/v1/containers", ctr["uuid"]),
            ("/v1/capsules", cap["uuid"]),
            ("/v1/registries", reg["registry"]["uuid"]),
        ):
            unknown = str(uuid.uuid4())
            theirs = bob.get(path, params={"limit": 5, "marker": marker})
            nobodys = bob.get(path, params={"limit": 5, "marker": unknown})
            assert theirs.status_code == 404, (path, theirs.status_code, theirs.text)
            assert _shape(theirs, marker) == _shape(nobodys, unknown), path
            assert alice.get(path, params={"limit": 5, "marker": marker}).status_code == 200, (
                path
            )  # the owner pages on
    finally:
        alice.post(f"/v1/jobs/{job['id']}/cancel")
        delete_and_wait(carol, f"/v1/containers/{ctr['uuid']}", force="True", all_projects="True")
        delete_and_wait(carol, f"/v1/capsules/{cap['uuid']}", all_projects="True")
        alice.delete(f"/v1/registries/{reg['registry']['uuid']}")


def test_errors_about_another_projects_objects_are_those_of_unknown_ones(p1_db, as_user):
    bob = as_user("bob")
    unknown = str(uuid.uuid4())
    for template in ("/v1/jobs/{}", "/v1/jobs/{}/why", "/v1/jobs/{}/logs", "/v1/containers/{}"):
        theirs, nobodys = bob.get(template.format(p1_db["id"])), bob.get(template.format(unknown))
        assert _shape(theirs, p1_db["id"]) == _shape(nobodys, unknown), template
