"""A Zun container with runtime vm: its own QEMU VM, with Zun's lifecycle."""

from __future__ import annotations

import time

import pytest

from tests.qemu_procs import qemu_pids

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(300)]

ZUN = {"OpenStack-API-Version": "container 1.40"}


def _until(zunray, uuid: str, status: str) -> dict:
    deadline = time.monotonic() + 90
    while (c := zunray.http.get(f"/v1/containers/{uuid}", headers=ZUN).json())["status"] != status:
        assert time.monotonic() < deadline, (c["status"], c["status_reason"])
        time.sleep(0.3)
    return c


def test_a_vm_container_starts_stops_logs_and_goes_away(zunray):
    body = {"image": "busybox:latest", "command": ["sh", "-c", "echo up in the vm; sleep 300"], "cpu": 1, "memory": 256, "runtime": "vm", "name": "in-a-vm"}
    created = zunray.http.post("/v1/containers?run=true", json=body, headers=ZUN)
    assert created.status_code == 202, created.text
    uuid = created.json()["uuid"]
    try:
        _until(zunray, uuid, "Running")
        shown = zunray.http.get(f"/v1/containers/{uuid}", headers=ZUN).json()
        assert qemu_pids(uuid) and zunray.containers(uuid=uuid) == [], (shown, zunray.containers(uuid=uuid))  # a VM, no Docker container
        assert "up in the vm" in zunray.http.get(f"/v1/containers/{uuid}/logs", headers=ZUN).text
        refused = zunray.http.post(f"/v1/containers/{uuid}/execute", params={"command": "ls", "run": "true"}, headers=ZUN)
        assert refused.status_code == 409 and "not available for containers with runtime vm" in refused.text
        assert zunray.http.post(f"/v1/containers/{uuid}/stop", headers=ZUN).status_code == 202
        _until(zunray, uuid, "Stopped")
        assert not qemu_pids(uuid)
        assert zunray.http.post(f"/v1/containers/{uuid}/start", headers=ZUN).status_code == 202
        _until(zunray, uuid, "Running")
    finally:
        zunray.http.delete(f"/v1/containers/{uuid}", params={"force": "True"}, headers=ZUN)
    deadline = time.monotonic() + 30
    while zunray.http.get(f"/v1/containers/{uuid}", headers=ZUN).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert not qemu_pids(uuid)
