"""A Zun container with runtime vm: its own QEMU VM, with Zun's lifecycle."""

from __future__ import annotations

import time

import pytest

from tests.conftest import ZUN_HEADERS as ZUN
from tests.qemu_procs import qemu_pids

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(300)]


def test_a_vm_container_starts_stops_logs_and_goes_away(zunray):
    body = {
        "image": "busybox:latest",
        "command": ["sh", "-c", "echo up in the vm; sleep 300"],
        "cpu": 1,
        "memory": 256,
        "runtime": "vm",
        "name": "in-a-vm",
    }
    created = zunray.http.post("/v1/containers?run=true", json=body, headers=ZUN)
    assert created.status_code == 202, created.text
    uuid = created.json()["uuid"]
    try:
        zunray.container_until(uuid, "Running")
        shown = zunray.http.get(f"/v1/containers/{uuid}", headers=ZUN).json()
        assert qemu_pids(uuid) and zunray.containers(uuid=uuid) == [], (
            shown,
            zunray.containers(uuid=uuid),
        )  # a VM, no Docker container
        zunray.container_logs_until(
            uuid, "up in the vm"
        )  # Running once the guest booted; the command's first line follows
        refused = zunray.http.post(
            f"/v1/containers/{uuid}/execute", params={"command": "ls", "run": "true"}, headers=ZUN
        )
        assert (
            refused.status_code == 409
            and "not available for containers with runtime vm" in refused.text
        )
        assert zunray.http.post(f"/v1/containers/{uuid}/stop", headers=ZUN).status_code == 202
        zunray.container_until(uuid, "Stopped")
        assert not qemu_pids(uuid)
        assert zunray.http.post(f"/v1/containers/{uuid}/start", headers=ZUN).status_code == 202
        zunray.container_until(uuid, "Running")
    finally:
        zunray.delete_container(uuid)
    assert not qemu_pids(uuid)


def _vm_capsule(name: str, *, init_cmd: str, restart: str) -> dict:
    shared = [{"name": "shared", "mountPath": "/data"}]
    return {
        "kind": "capsule",
        "metadata": {"name": name},
        "spec": {
            "runtime": "vm",
            "restartPolicy": restart,
            "volumes": [{"name": "shared"}],
            "initContainers": [
                {
                    "name": "seed",
                    "image": "busybox:latest",
                    "command": ["sh", "-c", init_cmd],
                    "volumeMounts": shared,
                }
            ],
            "containers": [
                {
                    "name": "server",
                    "image": "busybox:latest",
                    "command": ["sh", "-c", "while true; do nc -l -p 8080 -e cat /data/seed; done"],
                    "volumeMounts": shared,
                    "resources": {"requests": {"cpu": 0.5, "memory": 96}},
                },
                {
                    "name": "client",
                    "image": "busybox:latest",
                    "command": [
                        "sh",
                        "-c",
                        "until nc 127.0.0.1 8080 </dev/null | grep -q seeded; do sleep 0.2; done; exit 0",
                    ],
                    "resources": {"requests": {"cpu": 0.5, "memory": 64}},
                },
            ],
        },
    }


def _capsule_until(zc, uuid: str, check) -> object:  # noqa: ANN001
    deadline = time.monotonic() + 90
    while not check(cap := zc.capsules.get(uuid)):
        assert time.monotonic() < deadline, (cap.status, cap.status_reason, cap.containers)
        time.sleep(0.3)
    return cap


def test_a_capsule_runs_whole_in_one_vm_and_boots_again_after_its_node_actor_restarts(
    zc, zunray, ray_driver
):
    import ray

    from actors.bootstrap import node_actor_name

    cap = zc.capsules.create(
        template=_vm_capsule("in-one-vm", init_cmd="echo seeded > /data/seed", restart="OnFailure")
    )
    try:
        # the client reached the server over the guest's loopback and read what the init container wrote: it ends, the server runs on
        cap = _capsule_until(
            zc, cap.uuid, lambda c: [m["status"] for m in c.containers] == ["Running", "Stopped"]
        )
        assert cap.status == "Stopped" and cap.runtime == "vm"
        [pid] = qemu_pids(cap.uuid)  # one VM for the whole capsule, and no Docker container
        assert zunray.containers(capsule=cap.uuid) == []
        ray.kill(
            ray.get_actor(node_actor_name(cap.host), namespace=zunray.settings.ray_namespace),
            no_restart=False,
        )
        deadline = (
            time.monotonic() + 60
        )  # the VM died with its node actor; the new one boots the capsule again (restart policy OnFailure)
        while qemu_pids(cap.uuid) in ([], [pid]):
            assert time.monotonic() < deadline, "the capsule's VM was not booted again"
            time.sleep(0.3)
        _capsule_until(
            zc, cap.uuid, lambda c: [m["status"] for m in c.containers] == ["Running", "Stopped"]
        )
    finally:
        zc.capsules.delete(cap.uuid)
    assert not qemu_pids(cap.uuid)


def test_a_vm_capsule_whose_init_container_fails_says_which(zc):
    cap = zc.capsules.create(
        template=_vm_capsule("init-fails-in-vm", init_cmd="exit 3", restart="Never")
    )
    try:
        cap = _capsule_until(zc, cap.uuid, lambda c: c.status == "Error")
        assert "init container seed exited with 3" in cap.status_reason
        assert _gone(cap.uuid), "the VM stays after its init container failed"
    finally:
        zc.capsules.delete(cap.uuid)
    assert not qemu_pids(cap.uuid)


def _gone(uuid: str) -> bool:
    deadline = time.monotonic() + 10
    while qemu_pids(uuid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_vm_containers_after_a_node_actor_restart(zunray, ray_driver):
    """Their VMs die with the node actor: one with a restart policy boots again by itself; one
    without is Stopped saying why, and starts again when asked."""
    import ray

    from actors.bootstrap import node_actor_name

    body = {
        "image": "busybox:latest",
        "command": ["sh", "-c", "echo booted; sleep 300"],
        "cpu": 0.5,
        "memory": 64,
        "runtime": "vm",
    }
    kept = zunray.http.post(
        "/v1/containers?run=true",
        json={**body, "name": "vm-kept", "restart_policy": {"Name": "always"}},
        headers=ZUN,
    ).json()["uuid"]
    plain = zunray.http.post(
        "/v1/containers?run=true", json={**body, "name": "vm-plain"}, headers=ZUN
    ).json()["uuid"]
    try:
        host = zunray.container_until(kept, "Running")["host"]
        zunray.container_until(plain, "Running")
        [old_kept] = qemu_pids(kept)
        ray.kill(
            ray.get_actor(node_actor_name(host), namespace=zunray.settings.ray_namespace),
            no_restart=False,
        )
        stopped = zunray.container_until(plain, "Stopped")
        assert "its VM ended with the node actor's restart" in stopped["status_reason"]
        deadline = time.monotonic() + 60
        while qemu_pids(kept) in ([], [old_kept]):
            assert time.monotonic() < deadline, "the VM with a restart policy was not booted again"
            time.sleep(0.3)
        zunray.container_until(kept, "Running")
        zunray.container_logs_until(kept, "booted")
        assert not qemu_pids(
            plain
        )  # its old QEMU died with the node actor; nothing booted it again
        assert zunray.http.post(f"/v1/containers/{plain}/start", headers=ZUN).status_code == 202
        zunray.container_until(plain, "Running")
    finally:
        zunray.delete_container(kept)
        zunray.delete_container(plain)
    assert not qemu_pids(kept) and not qemu_pids(plain)
