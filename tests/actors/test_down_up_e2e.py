"""`zunray down` then `zunray up` with functions that had warm instances: the new
function actor starts before any node actor exists and must not fail on that."""

from __future__ import annotations

import docker
import httpx
import pytest

from runner.functions.model import InstanceStatus
from runner.local import stack
from runner.store import Store
from tests.conftest import run_stack, test_settings

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(400)]


def test_up_after_down_with_warm_function_instances(tmp_path_factory):
    settings = test_settings(tmp_path_factory.mktemp("downup"))  # short: unix socket paths are under 108 bytes
    gen = run_stack(settings)
    zr = next(gen)
    try:
        made = zr.http.post("/v1/functions", json={"name": "warm", "image": "zunray/python:3.11", "handler": "app:handle",
                                                   "code": "def handle(n):\n    return n + 1\n"})
        assert made.status_code == 201, made.text
        assert zr.http.post("/v1/functions/warm/invoke", json=1).json() == 2  # a warm instance now
        stack.down(settings)  # Ray goes; the instance's container stays
        store = Store(settings.store_url_resolved)
        try:  # as when `down` came while the instance was being stopped (idle, or its function changed)
            (inst,) = store.functions.list_instances()
            store.functions.update_instance(inst.uuid, status=InstanceStatus.STOPPING, status_reason="stopping")
        finally:
            store.close()
        body = stack.up(settings)  # failed before: the function actor stopped instances through missing node actors
        assert body["status"] == "ok", body
        with httpx.Client(base_url=settings.gateway_url, timeout=60) as http:
            resp = http.post("/v1/functions/warm/invoke", json=41)
            assert resp.status_code == 200 and resp.json() == 42, resp.text
        engine = docker.from_env()
        try:  # the old instance's container is ended by the new node actor, not left behind
            old = engine.containers.list(all=True, filters={"label": [f"zunray.instance={settings.instance}", f"zunray.uuid={inst.uuid}"]})
            assert not old, [c.name for c in old]
        finally:
            engine.close()
    finally:
        gen.close()
