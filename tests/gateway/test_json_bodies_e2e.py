"""Bodies must be JSON: a form body (``curl -d``) gets 415 saying what to send.
(tests/test_readme_e2e.py runs the README's curl examples.)"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def test_a_form_body_is_415_naming_the_content_type_to_send(zunray):
    resp = zunray.http.post(
        "/v1/jobs",
        content=b'{"image":"busybox:latest"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 415, resp.text
    error = resp.json()["errors"][0]
    assert (
        "Content-Type: application/json" in error["detail"]
        and error["code"] == "zunray.unsupported-media-type"
    )
    assert (
        zunray.http.post(
            "/v1/jobs", content=b"x", headers={"Content-Type": "text/plain"}
        ).status_code
        == 415
    )


def test_an_empty_action_body_and_a_json_subtype_are_accepted(zunray):
    made = zunray.submit(command=["sleep", "30"])
    resp = zunray.http.post(
        f"/v1/jobs/{made['id']}/cancel",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code in (200, 202), resp.text
    job = {
        "image": "busybox:latest",
        "command": ["true"],
        "resources": {"cpu": 0.1, "memory_mb": 16},
    }
    resp = zunray.http.post(
        "/v1/jobs",
        content=json.dumps(job),
        headers={"Content-Type": "application/vnd.zunray+json; charset=utf-8"},
    )
    assert resp.status_code == 202, resp.text
