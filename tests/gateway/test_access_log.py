"""The access log and the request id, against the app itself (no Ray, no store)."""

from __future__ import annotations

import logging
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from runner.settings import Settings

LINE = re.compile(
    r"request_id=(?P<request_id>\S+) project=(?P<project>\S+) method=(?P<method>\S+) route=(?P<route>\S+)"
    r" status=(?P<status>\d+) duration_ms=(?P<duration_ms>[0-9.]+) trace_id=(?P<trace_id>\S+)"
)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # no lifespan: the routes used here read neither the store nor the cluster
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("access")))
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)


def access_lines(caplog) -> list[dict]:
    return [
        LINE.fullmatch(r.getMessage()).groupdict()
        for r in caplog.records
        if r.name == "zunray.access"
    ]


def test_one_line_per_request_with_its_id_project_route_template_status_and_duration(
    client, caplog
):
    caplog.set_level(logging.INFO, logger="zunray.access")
    resp = client.get("/dashboard/no-such.js", headers={"X-Project-Id": "p1"})
    assert resp.status_code == 404
    [line] = access_lines(caplog)
    assert line["request_id"] == resp.headers["x-openstack-request-id"]
    assert line["project"] == "p1"
    assert (line["method"], line["route"], line["status"]) == (
        "GET",
        "/dashboard/{asset}",
        "404",
    )  # the template, not the path
    assert float(line["duration_ms"]) > 0
    [record] = [r for r in caplog.records if r.name == "zunray.access"]
    assert (
        record.route == "/dashboard/{asset}" and record.status == 404
    )  # fields a JSON formatter can use


def test_an_unmatched_path_is_logged_quoted_so_it_cannot_forge_a_line(client, caplog):
    caplog.set_level(logging.INFO, logger="zunray.access")
    assert client.get("/nope/a b%0Aproject=evil").status_code == 404
    [line] = access_lines(caplog)
    assert line["route"] == "/nope/a%20b%0Aproject%3Devil"


def test_a_well_formed_incoming_request_id_is_adopted(client, caplog):
    caplog.set_level(logging.INFO, logger="zunray.access")
    mine = f"req-{uuid.uuid4()}"
    resp = client.get("/v1/", headers={"X-OpenStack-Request-ID": mine})
    assert resp.headers["x-openstack-request-id"] == mine
    assert access_lines(caplog)[0]["request_id"] == mine


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(str(uuid.uuid4()), id="no-req-prefix"),
        pytest.param(f"req-{uuid.uuid4()}".upper(), id="uppercase"),
        pytest.param(f"req-{uuid.uuid4()}x", id="trailing-text"),
        pytest.param("req-../../etc", id="not-a-uuid"),
    ],
)
def test_any_other_incoming_request_id_is_replaced_by_a_new_one(client, sent):
    resp = client.get("/v1/", headers={"X-OpenStack-Request-ID": sent})
    got = resp.headers["x-openstack-request-id"]
    assert got != sent and re.fullmatch(r"req-[0-9a-f-]{36}", got)


def test_a_too_large_body_is_logged_and_its_error_carries_the_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="zunray.access")
    mine = f"req-{uuid.uuid4()}"
    resp = client.post(
        "/v1/jobs",
        content=b"x" * (Settings().max_request_bytes + 1),
        headers={"X-OpenStack-Request-ID": mine},
    )
    assert resp.status_code == 413
    assert resp.headers["x-openstack-request-id"] == mine == resp.json()["errors"][0]["request_id"]
    assert access_lines(caplog)[0]["status"] == "413"
