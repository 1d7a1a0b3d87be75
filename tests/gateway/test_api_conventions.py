"""API conventions without Ray or Docker: 400 for invalid input (and in the OpenAPI document),
``Retry-After`` on every 429 and 503, paging of functions and schedules in the store, and
the SDK following ``next`` to the end."""

from __future__ import annotations

import asyncio
import pickle
import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from gateway import errors
from gateway.app import create_app
from gateway.auth import KeystoneAuth
from gateway.cluster import Cluster
from runner import errors as e
from runner.client import http as sdk, responses
from runner.client.responses import raise_for_error
from runner.functions.model import Function, FunctionSpec
from runner.settings import Settings
from runner.store import Store


class Thing(BaseModel):
    size_mb: int = Field(..., ge=1)


def _app(tmp_path) -> FastAPI:  # noqa: ANN001
    """A small app with Zunray's error handling and routes that raise what the real ones do."""
    app = FastAPI()
    errors.install(app)
    raised = {
        "throttled": e.Throttled("too many"),
        "throttled-7.2": e.Throttled("too many", retry_after_s=7.2),
        "unavailable": e.Unavailable("Docker engine unreachable: no socket"),
        "unavailable-30": e.Unavailable("later", retry_after_s=30),
        "invalid": e.InvalidSpec("bad", field="image"),
    }

    @app.get("/v1/jobs/raise/{kind}")
    def _raise(kind: str) -> None:
        raise raised[kind]

    @app.post("/v1/jobs/things")
    def _thing(body: Thing) -> dict:
        return body.model_dump()

    @app.get("/v1/jobs/slow")
    async def _slow() -> None:
        await Cluster(Settings(data_dir=tmp_path)).call(asyncio.sleep(30), timeout_s=0.1)

    return app


@pytest.mark.parametrize(
    ("kind", "status", "retry_after"),
    [
        pytest.param("throttled", 429, "1", id="throttled-default"),
        pytest.param("throttled-7.2", 429, "8", id="throttled-rounded-up"),
        pytest.param("unavailable", 503, "5", id="unavailable-default"),
        pytest.param("unavailable-30", 503, "30", id="unavailable-own"),
        pytest.param("invalid", 400, None, id="invalid-has-none"),
    ],
)
def test_retry_after_on_every_429_and_503(tmp_path, kind, status, retry_after):
    resp = TestClient(_app(tmp_path)).get(f"/v1/jobs/raise/{kind}")
    assert resp.status_code == status
    assert resp.headers.get("Retry-After") == retry_after
    assert resp.json()["errors"][0]["status"] == status


def test_a_cluster_call_past_its_deadline_is_503_with_retry_after(tmp_path):
    resp = TestClient(_app(tmp_path)).get("/v1/jobs/slow")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    assert "did not answer within" in resp.json()["errors"][0]["detail"]


def test_request_validation_is_400_in_zuns_shape_naming_the_field(tmp_path):
    resp = TestClient(_app(tmp_path)).post("/v1/jobs/things", json={"size_mb": 0})
    assert resp.status_code == 400
    err = resp.json()["errors"][0]
    assert err["status"] == 400 and err["code"] == "zunray.invalid-spec"
    assert err["detail"].startswith("size_mb: ") and "greater than or equal to 1" in err["detail"]


def test_retry_after_survives_the_trip_through_ray():
    """Actor errors come back pickled: the hint must not fall back to the default."""
    for exc in (e.Unavailable("x", retry_after_s=12), e.Throttled("y", retry_after_s=3)):
        assert pickle.loads(pickle.dumps(exc)).retry_after_s == exc.retry_after_s


def test_keystone_unreachable_is_503_with_retry_after(tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        auth_mode="keystone",
        keystone_url="http://127.0.0.1:1/v3",
        keystone_service_password="x",
    )
    app = create_app(settings)
    app.state.auth = KeystoneAuth(
        settings
    )  # what the lifespan sets; nothing else is needed before a route runs
    resp = TestClient(app).get("/v1/jobs", headers={"X-Auth-Token": "a-token"})
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    assert "Keystone" in resp.json()["errors"][0]["detail"]


def test_openapi_documents_400_never_422(tmp_path):
    schema = create_app(Settings(data_dir=tmp_path)).openapi()
    statuses = {
        (path, method): set(op["responses"])
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }
    assert not [where for where, codes in statuses.items() if "422" in codes]
    for where in (
        ("/v1/jobs", "post"),
        ("/v1/jobs", "get"),
        ("/v1/functions", "get"),
        ("/v1/schedules", "post"),
    ):
        assert "400" in statuses[where], where
    assert schema["paths"]["/v1/jobs"]["post"]["responses"]["400"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/ZunError"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path in ("/v1/functions", "/v1/schedules"):
        assert {p["name"] for p in schema["paths"][path]["get"]["parameters"]} == {
            "limit",
            "marker",
        }


# -- paging in the store ------------------------------------------------------------------
@pytest.fixture
def store(sqlite_store):  # tests/conftest.py
    return sqlite_store


def _function(store: Store, project: str, name: str) -> str:
    return store.functions.create_function(
        Function(str(uuid.uuid4()), name, project, "u", 1, FunctionSpec(image="busybox:latest"))
    ).uuid


def _schedule(store: Store, project: str, name: str) -> str:
    values = {
        "uuid": str(uuid.uuid4()),
        "name": name,
        "project_id": project,
        "user_id": "u",
        "cron": "0 3 * * *",
        "time_zone": "UTC",
        "job": {},
        "concurrency_policy": "Allow",
        "starting_deadline_s": None,
        "successful_history_limit": 3,
        "failed_history_limit": 1,
        "suspend": True,
    }
    return store.schedules.create_schedule(values)["uuid"]


@pytest.mark.parametrize(
    ("make", "listing", "uuid_of"),
    [
        pytest.param(
            _function,
            lambda s, **kw: s.functions.list_functions(**kw),
            lambda f: f.uuid,
            id="functions",
        ),
        pytest.param(
            _schedule,
            lambda s, **kw: s.schedules.list_schedules(**kw),
            lambda x: x["uuid"],
            id="schedules",
        ),
    ],
)
def test_store_pages_by_name_and_hides_other_projects_markers(store, make, listing, uuid_of):
    mine = {name: make(store, "p1", name) for name in ("c", "a", "d", "b")}
    theirs = make(store, "p2", "a")
    first = listing(store, project_id="p1", limit=3)
    assert [uuid_of(x) for x in first] == [mine[n] for n in "abc"]
    rest = listing(store, project_id="p1", limit=3, marker=uuid_of(first[-1]))
    assert [uuid_of(x) for x in rest] == [mine["d"]]
    assert listing(store, project_id="p1", limit=3, marker=mine["d"]) == []
    assert len(listing(store, project_id=None)) == 5  # the actors' view: no limit, every project
    with pytest.raises(e.NotFound) as unknown:
        listing(store, project_id="p1", limit=3, marker="00000000-0000-0000-0000-000000000000")
    with pytest.raises(e.NotFound) as foreign:
        listing(store, project_id="p1", limit=3, marker=theirs)
    assert str(foreign.value).replace(theirs, "M") == str(unknown.value).replace(
        "00000000-0000-0000-0000-000000000000", "M"
    )


# -- the SDK follows ``next`` -------------------------------------------------------------
def _paged_server(total: int, asked: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        limit = int(request.url.params["limit"])
        start = int(request.url.params.get("marker", "-1")) + 1
        ids = list(range(total))[start : start + limit]
        key = request.url.path.rsplit("/", 1)[-1]
        more = len(ids) == limit
        nxt = f"{request.url.path}?limit={limit}&marker={ids[-1]}" if more and ids else None
        return httpx.Response(200, json={key: [{"id": str(i)} for i in ids], "next": nxt})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    "listing",
    [
        pytest.param(lambda zr: zr.functions.list(), id="functions"),
        pytest.param(lambda zr: zr.schedules.list(), id="schedules"),
        pytest.param(lambda zr: zr.jobs(), id="jobs"),
    ],
)
def test_sdk_lists_follow_next_to_the_end(monkeypatch, listing):
    monkeypatch.setattr(responses, "PAGE_SIZE", 2)
    asked: list[str] = []
    client = sdk.Client("http://127.0.0.1:9")
    client.http = httpx.Client(base_url="http://127.0.0.1:9", transport=_paged_server(5, asked))
    assert [x.id for x in listing(client)] == ["0", "1", "2", "3", "4"]
    assert len(asked) == 3


def test_sdk_jobs_limit_stops_early_and_errors_keep_retry_after():
    asked: list[str] = []
    client = sdk.Client("http://127.0.0.1:9")
    client.http = httpx.Client(base_url="http://127.0.0.1:9", transport=_paged_server(5000, asked))
    assert len(client.jobs(limit=3)) == 3 and len(asked) == 1
    busy = httpx.Response(
        503,
        headers={"Retry-After": "7"},
        json={"errors": [{"detail": "Docker engine unreachable"}]},
    )
    with pytest.raises(e.Unavailable) as info:
        raise_for_error(busy)
    assert info.value.retry_after_s == 7 and "Docker" in info.value.message
