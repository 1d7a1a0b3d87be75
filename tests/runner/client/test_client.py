"""The SDK without a server: typed results, paging, the managers' requests on the Client's
session, and a keystoneauth1 session's token renewal behind httpx (the real Keystone:
tests/gateway/keystone/test_sdk_keystone.py)."""

from __future__ import annotations

from datetime import timezone

import httpx
import pytest
from keystoneauth1 import plugin, session as ks_session

from runner import Client
from runner.client.keystone import SessionAuth, catalog_url
from runner.client.resources import Job, Schedule
from runner.errors import Conflict, NotFound
from runner.models import JobStatus

JOB = {
    "id": "j1",
    "name": "n",
    "status": "TimedOut",
    "exit_code": None,
    "command": ["sh", "-c", "x"],
    "created_at": "2026-12-01T04:00:00+00:00",
    "started_at": None,
    "env": {"A": "1"},
}


def test_a_job_is_typed_and_keeps_its_json():
    job = Job.from_api(JOB)
    assert job.status is JobStatus.TIMED_OUT and job.is_terminal()
    assert (
        job.command == ("sh", "-c", "x")
        and job.created_at.tzinfo == timezone.utc
        and job.started_at is None
    )
    assert job.raw["env"] == {"A": "1"} and job["env"] == {
        "A": "1"
    }  # item access reads the JSON, as openstacksdk's
    assert (
        Job.from_api({"id": "j2"}).status is JobStatus.QUEUED
    )  # a field an older server leaves out: the default
    with pytest.raises(ValueError):
        Job.from_api({**JOB, "status": "NoSuchStatus"})


def test_a_schedule_is_typed():
    s = Schedule.from_api(
        {
            "id": "s",
            "name": "nightly",
            "suspend": True,
            "next_run_at": None,
            "job": {"image": "busybox"},
        }
    )
    assert s.suspend is True and s.next_run_at is None and s.job["image"] == "busybox"


def _client(handler) -> Client:  # noqa: ANN001
    zr = Client("http://zunray.test")
    zr.http = httpx.Client(base_url="http://zunray.test", transport=httpx.MockTransport(handler))
    return zr


def test_list_calls_follow_next_to_the_end_and_stop_at_a_limit():
    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        n = int(request.url.params.get("marker") or 0)
        nxt = None if n >= 4 else f"/v1/jobs?limit=2&marker={n + 2}&status=Failed"
        return httpx.Response(
            200, json={"jobs": [{**JOB, "id": str(n + 1)}, {**JOB, "id": str(n + 2)}], "next": nxt}
        )

    zr = _client(handler)
    assert [j.id for j in zr.jobs(status=["Failed"])] == ["1", "2", "3", "4", "5", "6"]
    assert "status=Failed" in asked[0] and len(asked) == 3
    asked.clear()
    assert [j.id for j in zr.jobs(limit=3, marker="2")] == ["3", "4", "5"]
    assert "marker=2" in asked[0] and len(asked) == 2


def test_errors_are_the_error_classes():
    zr = _client(
        lambda r: httpx.Response(
            404, json={"errors": [{"status": 404, "title": "Not Found", "detail": "no job x"}]}
        )
    )
    with pytest.raises(NotFound, match="no job x"):
        zr.why("x")


#: every manager call -> the request it makes (method, path and query as the gateway reads them)
MANAGER_CALLS = [
    (lambda zr: zr.functions.create("f", "img", handler="app:h"), "POST /v1/functions"),
    (lambda zr: zr.functions.update("f", min_instances=1), "PATCH /v1/functions/f"),
    (lambda zr: zr.functions.get("f"), "GET /v1/functions/f"),
    (lambda zr: zr.functions.list(), "GET /v1/functions?limit=1000"),
    (lambda zr: zr.functions.delete("f"), "DELETE /v1/functions/f"),
    (lambda zr: zr.functions.invoke("f", {"n": 1}), "POST /v1/functions/f/invoke"),
    (lambda zr: zr.functions.invoke_async("f", 1), "POST /v1/functions/f/invoke?async=true"),
    (lambda zr: zr.functions.invocation("i"), "GET /v1/invocations/i"),
    (lambda zr: zr.schedules.create("s", "* * * * *", {"image": "b"}), "POST /v1/schedules"),
    (lambda zr: zr.schedules.get("s"), "GET /v1/schedules/s"),
    (lambda zr: zr.schedules.list(), "GET /v1/schedules?limit=1000"),
    (lambda zr: zr.schedules.update("s", suspend=True), "PATCH /v1/schedules/s"),
    (lambda zr: zr.schedules.delete("s", purge=True), "DELETE /v1/schedules/s?purge=true"),
    (lambda zr: zr.schedules.runs("s", limit=5), "GET /v1/schedules/s/runs?limit=5"),
    (lambda zr: zr.usage.list(start=1.0), "GET /v1/usage?start=1.0&format=json"),
    (
        lambda zr: zr.usage.export("parquet", all_projects=True),
        "GET /v1/usage?all_projects=true&format=parquet",
    ),
    (lambda zr: zr.containers.create("busybox", ["true"]), "POST /v1/containers?run=true"),
    (lambda zr: zr.containers.get("c"), "GET /v1/containers/c"),
    (lambda zr: zr.containers.list(), "GET /v1/containers"),
    (lambda zr: zr.containers.action("c", "stop"), "POST /v1/containers/c/stop"),
    (lambda zr: zr.containers.logs("c"), "GET /v1/containers/c/logs"),
    (
        lambda zr: zr.containers.delete("c", force=True),
        "DELETE /v1/containers/c?force=True&stop=False",
    ),
    (lambda zr: zr.secrets.create("db", "v"), "POST /v1/secrets"),
    (lambda zr: zr.secrets.get("db"), "GET /v1/secrets/db"),
    (lambda zr: zr.secrets.list(), "GET /v1/secrets"),
    (lambda zr: zr.secrets.replace("db", "w"), "PUT /v1/secrets/db"),
    (lambda zr: zr.secrets.delete("db"), "DELETE /v1/secrets/db"),
]


@pytest.mark.parametrize(
    ("call", "request_line"), [pytest.param(c, r, id=r) for c, r in MANAGER_CALLS]
)
def test_each_manager_call_is_one_request_on_the_clients_session(call, request_line):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = f"?{request.url.query.decode()}" if request.url.query else ""
        seen.append((f"{request.method} {request.url.path}{query}", request.headers))
        lists = {
            k: [] for k in ("functions", "schedules", "containers", "runs", "usage", "secrets")
        }
        return httpx.Response(200, json={"id": "i", "next": None, **lists})

    zr = _client(
        handler
    )  # the managers follow the Client's session, even one set after it was made
    call(zr)
    [(sent, headers)] = seen
    assert sent == request_line
    assert headers.get("OpenStack-API-Version") == (
        "container 1.40" if "/v1/containers" in sent else None
    )  # Zun's calls at the microversion they were written for


def test_manager_errors_are_the_error_classes():
    zr = _client(lambda r: httpx.Response(409, json={"errors": [{"detail": "still running"}]}))
    with pytest.raises(Conflict, match="still running"):
        zr.containers.delete("c")


class _Counting(plugin.BaseAuthPlugin):
    """A keystoneauth1 plugin handing out t1, t2, ...: a new token each time it is invalidated."""

    def __init__(self) -> None:
        super().__init__()
        self.issued = 1

    def get_token(self, session, **kwargs) -> str:  # noqa: ANN001, ANN003
        return f"t{self.issued}"

    def invalidate(self) -> bool:
        self.issued += 1
        return True

    def get_endpoint(self, session, **kwargs) -> str:  # noqa: ANN001, ANN003
        return "http://zunray.test:9517/v1/"


def test_a_refused_token_is_renewed_once_through_the_session():
    auth = _Counting()
    revoked = {"t1"}
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("X-Auth-Token"))
        return httpx.Response(
            401 if request.headers["X-Auth-Token"] in revoked else 200,
            json={"jobs": [], "next": None},
        )

    http = httpx.Client(
        base_url="http://z",
        auth=SessionAuth(ks_session.Session(auth=auth)),
        transport=httpx.MockTransport(handler),
    )
    assert http.post("/v1/jobs", json={"image": "busybox"}).status_code == 200
    assert seen == ["t1", "t2"]  # the body was sent again with the new token
    revoked.update({"t2", "t3"})
    assert (
        http.get("/v1/jobs").status_code == 401
    )  # only one retry: a token refused twice is the caller's answer
    assert seen[2:] == ["t2", "t3"]


def test_the_catalog_endpoint_loses_zuns_v1():
    sess = ks_session.Session(auth=_Counting())
    assert (
        catalog_url(sess, None, interface="public", region_name=None) == "http://zunray.test:9517"
    )
    with Client(session=sess) as zr:
        assert str(zr.http.base_url) == "http://zunray.test:9517"
    with Client(
        "http://elsewhere:1", auth=_Counting()
    ) as zr:  # an auth plugin alone: a session is made for it
        assert str(zr.http.base_url) == "http://elsewhere:1"
