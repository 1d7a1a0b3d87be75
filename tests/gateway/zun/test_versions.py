"""Zun's version documents, microversion headers and error bodies."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.ray]

H = "OpenStack-API-Version"


def test_root_and_v1_answer_without_a_token(zunray):
    root = zunray.http.get("/")
    assert root.status_code == 200
    [v1] = root.json()["versions"]
    assert (v1["id"], v1["status"], v1["min_version"], v1["max_version"]) == (
        "v1",
        "CURRENT",
        "1.1",
        "1.40",
    )
    assert v1["links"][0]["href"].endswith("/v1/")
    assert root.json()["default_version"]["id"] == "v1"
    assert H not in root.headers  # Zun sends no version headers on /
    doc = zunray.http.get("/v1").json()
    assert doc["media_types"][0]["type"] == "application/vnd.openstack.zun.v1+json"
    assert doc["containers"][0]["href"].endswith("/v1/containers/")


@pytest.mark.parametrize(
    "sent, effective",
    [
        (None, "container 1.1"),
        ("container 1.20", "container 1.20"),
        ("container latest", "container 1.40"),
    ],
    ids=["absent-means-1.1", "explicit", "latest"],
)
def test_version_headers_on_responses(zunray, sent, effective):
    resp = zunray.http.get("/v1/containers", headers={H: sent} if sent else {})
    assert resp.status_code == 200
    assert resp.headers[H] == effective
    assert resp.headers["OpenStack-API-Minimum-Version"] == "container 1.1"
    assert resp.headers["OpenStack-API-Maximum-Version"] == "container 1.40"
    assert H in resp.headers["Vary"]
    assert resp.headers["x-openstack-request-id"].startswith("req-")


@pytest.mark.parametrize(
    "sent, detail",
    [
        ("container 1.41", "Version 1.41 was requested but the minor version is not supported"),
        ("container 2.0", "Mutually exclusive versions requested"),
        ("container abc", "Invalid value for OpenStack-API-Version header"),
        ("compute 2.1", "Invalid service type for OpenStack-API-Version header"),
    ],
    ids=["minor-too-new", "major", "malformed", "other-service"],
)
def test_unacceptable_versions_are_406(zunray, sent, detail):
    resp = zunray.http.get("/v1/containers", headers={H: sent})
    assert resp.status_code == 406
    [err] = resp.json()["errors"]
    assert detail in err["detail"] and err["status"] == 406 and err["code"].startswith("container.")


def test_endpoint_missing_at_this_version_is_406(zunray):
    assert zunray.http.get("/v1/hosts", headers={H: "container 1.3"}).status_code == 406
    assert zunray.http.get("/v1/hosts/", headers={H: "container 1.4"}).status_code == 200


def test_unknown_container_error_body(zunray):
    resp = zunray.http.get("/v1/containers/no-such-thing", headers={H: "container latest"})
    assert resp.status_code == 404
    [err] = resp.json()["errors"]
    assert err["code"] == "container.container-not-found"
    assert err["title"] == err["detail"] == "Container no-such-thing could not be found."
    assert err["request_id"] == resp.headers["x-openstack-request-id"]
    assert err["links"] == []


@pytest.mark.parametrize(
    "version, body, field",
    [
        ("1.40", {"image": "busybox:latest", "colour": "red"}, "colour"),
        ("1.2", {"image": "busybox:latest", "auto_remove": True}, "auto_remove"),
        ("1.38", {"image": "busybox:latest", "entrypoint": ["sh"]}, "entrypoint"),
        ("1.40", {"image": "busybox:latest", "command": "sleep 1"}, "command"),
        ("1.40", {"image": "busybox:latest", "memory": "lots"}, "memory"),
        (
            "1.40",
            {"image": "busybox:latest", "restart_policy": {"Name": "sometimes"}},
            "restart_policy",
        ),
        ("1.40", {"command": ["true"]}, "image"),
    ],
    ids=[
        "unknown-field",
        "param-too-new",
        "schema-too-new",
        "command-string-at-1.40",
        "bad-memory",
        "bad-restart",
        "no-image",
    ],
)
def test_bad_create_bodies_are_400_naming_the_field(zunray, version, body, field):
    before = len(zunray.http.get("/v1/containers").json()["containers"])
    resp = zunray.http.post("/v1/containers", json=body, headers={H: f"container {version}"})
    assert resp.status_code == 400, resp.text
    assert field in resp.json()["errors"][0]["detail"]
    assert len(zunray.http.get("/v1/containers").json()["containers"]) == before


def test_body_over_the_limit_is_413(zunray):
    big = b'{"image": "busybox:latest", "labels": {"x": "' + b"a" * (17 << 20) + b'"}}'
    resp = zunray.http.post(
        "/v1/containers",
        content=big,
        headers={"Content-Type": "application/json", H: "container latest"},
    )
    assert resp.status_code == 413
    assert resp.json()["errors"][0]["code"] == "container.request-too-large"
    jobs = zunray.http.post("/v1/jobs", content=big, headers={"Content-Type": "application/json"})
    assert (
        jobs.status_code == 413 and jobs.json()["errors"][0]["code"] == "zunray.request-too-large"
    )
