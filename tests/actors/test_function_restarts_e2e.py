"""Functions keep working when the gateway, the function actor or a node actor
dies: instances and asynchronous invocations are in the store (real Ray, Docker)."""

from __future__ import annotations

import os
import signal
import time

import pytest
import ray

from actors.bootstrap import node_actor_name
from runner.local import procs, stack
from runner.ray_connect import FUNCTIONS

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(300)]

CODE = "import socket, time\ndef handle(event):\n    if event:\n        time.sleep(event)\n    return socket.gethostname()\n"


@pytest.fixture
def fn(zunray):
    resp = zunray.http.post(
        "/v1/functions",
        json={
            "name": "sturdy",
            "image": "zunray/python:3.11",
            "handler": "app:handle",
            "code": CODE,
            "max_instances": 3,
        },
    )
    assert resp.status_code == 201, resp.text
    yield "sturdy"
    zunray.http.delete("/v1/functions/sturdy")


def _invoke(zunray, name: str, payload=0) -> str:  # noqa: ANN001
    resp = zunray.http.post(f"/v1/functions/{name}/invoke", json=payload)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_async_invocation_survives_a_gateway_kill(zunray, fn):
    inv = zunray.http.post(f"/v1/functions/{fn}/invoke", params={"async": "true"}, json=1).json()
    os.kill(procs.recorded("gateway", zunray.settings.run_dir), signal.SIGKILL)
    stack.up(zunray.settings)
    deadline = time.monotonic() + 60
    while (shown := zunray.http.get(f"/v1/invocations/{inv['id']}").json())["status"] not in (
        "Succeeded",
        "Failed",
        "TimedOut",
    ):
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)
    assert shown["status"] == "Succeeded", shown


def test_function_actor_restart_keeps_the_warm_instance(zunray, ray_driver, fn):
    warm = _invoke(zunray, fn)
    ray.kill(ray.get_actor(FUNCTIONS, namespace=zunray.settings.ray_namespace), no_restart=False)
    deadline = time.monotonic() + 60
    while True:  # the restarted actor rebuilds its pool from the store
        resp = zunray.http.post(f"/v1/functions/{fn}/invoke", json=0)
        if resp.status_code == 200:
            break
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.5)
    assert resp.json() == warm  # the same instance, no cold start


def _invoke_once_up(zunray, name: str) -> str:  # noqa: ANN001
    """Invoke, waiting out a function actor that is still restarting (an earlier test restarted it:
    a call caught in that answers 503, "may or may not have been executed")."""
    deadline = time.monotonic() + 30
    while (
        resp := zunray.http.post(f"/v1/functions/{name}/invoke", json=0)
    ).status_code == 503 and "is restarting" in resp.text:
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.5)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_node_actor_restart_adopts_instances(zunray, ray_driver, fn):
    warm = _invoke_once_up(zunray, fn)
    host = zunray.http.get("/healthz").json()["cluster"]["hosts"][0]["name"]
    ray.kill(
        ray.get_actor(node_actor_name(host), namespace=zunray.settings.ray_namespace),
        no_restart=False,
    )
    time.sleep(2)
    assert _invoke(zunray, fn) == warm


def test_a_hung_call_does_not_block_calls_on_other_instances(zunray, fn):
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = pool.submit(_invoke, zunray, fn, 4)
        deadline = time.monotonic() + 30  # the slow call holds its instance before the quick one
        while zunray.http.get(f"/v1/functions/{fn}").json()["stats"]["busy"] < 1:
            assert time.monotonic() < deadline and not slow.done(), "the slow call never started"
            time.sleep(0.05)
        t0 = time.monotonic()
        quick = _invoke(zunray, fn, 0)
        quick_s = time.monotonic() - t0
        assert slow.result() != quick  # served by another instance
    assert quick_s < 3.5, f"the quick call waited {quick_s:.1f} s behind the slow one"
