"""The Python SDK against the shared stack: over HTTP (runner.Client) and over
Ray (runner.RayClient), with the same calls and the same answers."""

from __future__ import annotations

import time

import pytest

from runner import Client, RayClient
from runner.errors import FunctionFailed, InvalidSpec, NotFound
from runner.functions.model import InvocationStatus
from runner.models import JobStatus

pytestmark = pytest.mark.timeout(300)

CODE = "def handle(event):\n    if event == 'fail':\n        raise RuntimeError('asked to fail')\n    return {'doubled': event * 2}\n"


@pytest.fixture(scope="module")
def http_client(zunray):
    with Client(zunray.settings.gateway_url, project_id="sdk") as client:
        client.functions.create("double", "zunray/python:3.11", handler="app:handle", code=CODE)
        yield client
        client.functions.delete("double")


@pytest.fixture(scope="module")
def ray_client(zunray, ray_driver, http_client):
    client = RayClient(project_id="sdk", settings=zunray.settings)
    yield client
    client.close()


def _until_done(get, inv_id: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + 30
    while not (inv := get(inv_id)).status.is_terminal():
        assert time.monotonic() < deadline, inv
        time.sleep(0.1)
    return inv


@pytest.mark.parametrize("which", ["http", "ray"])
def test_jobs_submit_wait_logs(which, http_client, ray_client):
    client = http_client if which == "http" else ray_client
    job = client.submit(
        "busybox:latest",
        ["sh", "-c", "echo hello from $WHO"],
        env={"WHO": which},
        resources={"cpu": 0.25, "memory_mb": 64},
    )
    assert job.status is JobStatus.QUEUED and job.raw["env"] == {"WHO": which}
    done = client.wait(job.id, timeout_s=60)
    assert (
        done.status is JobStatus.SUCCEEDED
        and done.exit_code == 0
        and done.finished_at >= done.started_at
    )
    assert client.logs(job.id) == f"hello from {which}\n".encode()
    assert http_client.job(job.id).project_id == "sdk"  # both act for the same project


@pytest.mark.parametrize("which", ["http", "ray"])
def test_functions_invoke_sync_async_and_errors(which, http_client, ray_client):
    client = http_client if which == "http" else ray_client
    assert client.functions.invoke("double", 21) == {"doubled": 42}
    with pytest.raises(FunctionFailed) as failed:
        client.functions.invoke("double", "fail")
    assert failed.value.error["type"] == "RuntimeError" and "asked to fail" in failed.value.message
    with pytest.raises(NotFound):
        client.functions.invoke("no-such-function", 1)
    inv_id = client.functions.invoke_async("double", 5)
    done = _until_done(client.functions.invocation, inv_id)
    assert done.status is InvocationStatus.SUCCEEDED and done.result == {"doubled": 10}


@pytest.mark.parametrize("which", ["http", "ray"])
def test_bad_job_fields_fail_the_same_way(which, http_client, ray_client):
    client = http_client if which == "http" else ray_client
    with pytest.raises((InvalidSpec, ValueError)) as bad:
        client.submit("busybox:latest", ["true"], resources={"cpu": -1})
    assert "cpu" in str(bad.value)


@pytest.mark.parametrize("which", ["http", "ray"])
def test_operator_bounds_hold_the_same_way(which, zunray, http_client, ray_client):
    """A Ray caller skips the access rules (it holds the cluster's token) but not the operator's bounds."""
    client = http_client if which == "http" else ray_client
    with pytest.raises(InvalidSpec) as too_long:
        client.submit("busybox:latest", ["true"], timeout_s=zunray.settings.max_timeout_s * 2)
    assert _names(too_long.value, "timeout_s")
    with pytest.raises(InvalidSpec) as sysctl:
        client.submit("busybox:latest", ["true"], sysctls={"kernel.no_such_sysctl": "1"})
    assert _names(sysctl.value, "sysctls")


def _names(exc: InvalidSpec, field: str) -> bool:
    """Over Ray the error keeps its field; over HTTP the field leads the message ("timeout_s: at most ...")."""
    return exc.field == field or exc.message.startswith(f"{field}:")


def test_follow_logs_and_cancel_over_http(http_client):
    job = http_client.submit(
        "busybox:latest",
        ["sh", "-c", "echo one; sleep 30"],
        resources={"cpu": 0.25, "memory_mb": 64},
    )
    stream = http_client.follow_logs(job.id)
    assert next(stream).startswith(b"one")
    http_client.cancel(job.id)
    assert http_client.wait(job.id, timeout_s=30).status is JobStatus.CANCELLED
    why = http_client.why(job.id)  # placement's answer as if it were placed now
    assert why.id == job.id and why.status is JobStatus.CANCELLED and why.host in why.scores
    http_client.delete_job(job.id)
    with pytest.raises(NotFound):
        http_client.job(job.id)


def test_zun_containers_over_http(http_client):
    c = http_client.containers.create(
        "busybox:latest", ["sleep", "300"], name="sdk-box", cpu=0.25, memory="64"
    )
    deadline = time.monotonic() + 30
    while http_client.containers.get(c.uuid).status != "Running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "sdk-box" in [x.name for x in http_client.containers.list()]
    http_client.containers.delete(c.uuid, force=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            http_client.containers.get(c.uuid)
        except NotFound:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
