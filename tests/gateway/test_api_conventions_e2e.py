"""API conventions on the live noauth stack (issue 16 item 8): invalid input is 400 on every
layer, 429 carries Retry-After, and functions and schedules page with limit/marker/next
like jobs (another project's marker answers like an unknown one), the SDK following
``next`` to the end. Each test works in a project of its own."""

from __future__ import annotations

import uuid

import pytest

from runner.client import http as sdk, responses

pytestmark = [pytest.mark.docker, pytest.mark.ray]

ZUN = {"OpenStack-API-Version": "container latest"}
JOB = {"image": "busybox:latest", "command": ["true"], "resources": {"cpu": 0.1, "memory_mb": 16}}
UNKNOWN = "00000000-0000-0000-0000-000000000000"


def _project() -> dict[str, str]:
    return {"X-Project-Id": f"conv-{uuid.uuid4().hex[:8]}"}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        pytest.param(
            "POST",
            "/v1/jobs",
            {**JOB, "resources": {"cpu": "lots"}},
            "resources.cpu",
            id="job-body",
        ),
        pytest.param("POST", "/v1/jobs", {"command": ["true"]}, "image", id="job-missing-field"),
        pytest.param("GET", "/v1/jobs?limit=0", None, "limit", id="job-query"),
        pytest.param("GET", "/v1/jobs/x?wait_s=-1", None, "wait_s", id="job-wait"),
        pytest.param(
            "POST",
            "/v1/functions",
            {"name": "f", "image": "busybox:latest", "command": ["cat"], "timeout_s": "soon"},
            "timeout_s",
            id="function-body",
        ),
        pytest.param("GET", "/v1/functions?limit=1001", None, "limit", id="function-query"),
        pytest.param(
            "POST", "/v1/schedules", {"name": "s", "job": JOB}, "cron", id="schedule-body"
        ),
        pytest.param("GET", "/v1/schedules?limit=x", None, "limit", id="schedule-query"),
        pytest.param(
            "POST",
            "/v1/containers",
            {"image": "busybox:latest", "cpu": "many"},
            "cpu",
            id="zun-container",
        ),
    ],
)
def test_invalid_input_is_400_in_zuns_shape_naming_the_field(zunray, method, path, body, field):
    resp = zunray.http.request(method, path, json=body, headers={**_project(), **ZUN})
    assert resp.status_code == 400, resp.text
    err = resp.json()["errors"][0]
    assert err["status"] == 400 and field in err["detail"] and err["title"]


def test_a_merged_patch_that_is_invalid_is_400(zunray):
    """A function PATCH is validated after the merge, inside the route (pydantic's own ValidationError)."""
    project = _project()
    assert (
        zunray.http.post(
            "/v1/functions",
            json={"name": "p", "image": "busybox:latest", "command": ["cat"]},
            headers=project,
        ).status_code
        == 201
    )
    resp = zunray.http.patch(
        "/v1/functions/p", json={"min_instances": 5, "max_instances": 1}, headers=project
    )
    assert resp.status_code == 400 and "min_instances" in resp.json()["errors"][0]["detail"]
    assert zunray.http.delete("/v1/functions/p", headers=project).status_code == 204


def test_openapi_json_says_400_not_422(zunray):
    schema = zunray.http.get("/openapi.json").json()
    codes = [
        code for ops in schema["paths"].values() for op in ops.values() for code in op["responses"]
    ]
    assert "422" not in codes and "400" in codes


def test_a_project_over_its_queue_gets_429_with_retry_after(zunray):
    project = _project()
    name = project["X-Project-Id"]
    assert (
        zunray.http.put(f"/v1/quotas/{name}", json={"queued_jobs": 0}, headers=ZUN).status_code
        == 200
    )
    try:
        resp = zunray.http.post("/v1/jobs", json=JOB, headers=project)
        assert resp.status_code == 429, resp.text
        assert int(resp.headers["Retry-After"]) >= 1
    finally:
        zunray.http.delete(f"/v1/quotas/{name}", headers=ZUN)


def _make_function(zunray, project: dict, name: str) -> str:  # noqa: ANN001
    resp = zunray.http.post(
        "/v1/functions",
        json={"name": name, "image": "busybox:latest", "command": ["cat"]},
        headers=project,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _make_schedule(zunray, project: dict, name: str) -> str:  # noqa: ANN001
    resp = zunray.http.post(
        "/v1/schedules",
        json={"name": name, "cron": "0 3 * * *", "job": JOB, "suspend": True},
        headers=project,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


@pytest.mark.parametrize(
    ("kind", "make", "sdk_list"),
    [
        pytest.param("functions", _make_function, "functions", id="functions"),
        pytest.param("schedules", _make_schedule, "schedules", id="schedules"),
    ],
)
def test_lists_page_like_jobs(zunray, monkeypatch, kind, make, sdk_list):
    project, other = _project(), _project()
    made = {name: make(zunray, project, name) for name in ("c", "a", "e", "b", "d")}
    foreign = make(zunray, other, "a")
    path = f"/v1/{kind}"
    try:
        page = zunray.http.get(path, params={"limit": 2}, headers=project).json()
        seen = [x["id"] for x in page[kind]]
        while page["next"]:
            assert page["next"].startswith(f"{path}?") and "limit=2" in page["next"]
            page = zunray.http.get(page["next"], headers=project).json()
            seen += [x["id"] for x in page[kind]]
        assert seen == [made[n] for n in "abcde"]  # by name, each once, never another project's
        assert (
            zunray.http.get(path, headers=project).json()["next"] is None
        )  # a page that is not full is the last

        unknown = zunray.http.get(path, params={"marker": UNKNOWN}, headers=project)
        theirs = zunray.http.get(path, params={"marker": foreign}, headers=project)
        assert unknown.status_code == theirs.status_code == 404
        assert theirs.json()["errors"][0]["detail"].replace(foreign, "M") == unknown.json()[
            "errors"
        ][0]["detail"].replace(UNKNOWN, "M")

        monkeypatch.setattr(responses, "PAGE_SIZE", 2)
        with sdk.Client(zunray.settings.gateway_url, project_id=project["X-Project-Id"]) as client:
            assert [x.id for x in getattr(client, sdk_list).list()] == [made[n] for n in "abcde"]
    finally:
        for headers, ids in ((project, made), (other, {"a": foreign})):
            for name, ident in ids.items():
                zunray.http.delete(
                    f"{path}/{name if kind == 'functions' else ident}", headers=headers
                )
