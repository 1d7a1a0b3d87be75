"""runtime: vm — a QEMU virtual machine per job (TCG here), with the same job
statuses, logs, exit codes, timeouts and cancels as runc."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.qemu_procs import qemu_pids

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(300)]


def _vm_job(zunray, command: list[str], **fields) -> dict:  # noqa: ANN003
    return zunray.submit(
        command=command, runtime="vm", resources={"cpu": 1, "memory_mb": 256}, **fields
    )


def test_the_host_offers_vm_and_a_vm_job_behaves_like_a_container_job(zunray):
    [host] = zunray.http.get("/v1/cluster/hosts").json()["hosts"]
    assert "vm" in host["runtimes"]
    job = _vm_job(
        zunray,
        ["sh", "-c", "echo hello from a vm $WHO; cat /proc/cpuinfo | grep -c processor; exit 3"],
        env={"WHO": "guest"},
    )
    done = zunray.wait(job["id"], timeout_s=120)
    assert (done["status"], done["exit_code"]) == ("Failed", 3), done["status_reason"]
    assert zunray.http.get(f"/v1/jobs/{job['id']}/logs").text == "hello from a vm guest\n1\n"
    assert [h["status"] for h in done["history"]][-3:] == ["Starting", "Running", "Failed"]
    assert not qemu_pids(job["id"]) and not list(
        (zunray.settings.data_dir / "vm-runs").glob(f"*/zunray-vm-{job['id'][:8]}-*")
    )


def test_a_missing_binary_is_named(zunray):
    done = zunray.wait(_vm_job(zunray, ["no-such-tool", "--help"])["id"], timeout_s=120)
    assert done["status"] == "Failed" and "the image has no no-such-tool" in done["status_reason"]


def test_timeout_and_a_vm_killed_from_outside_leave_no_qemu(zunray):
    slow = _vm_job(zunray, ["sleep", "120"], timeout_s=10)
    killed = _vm_job(zunray, ["sleep", "120"])
    zunray.wait(killed["id"], until=("Running",), timeout_s=120)
    deadline = time.monotonic() + 30
    while not (pids := qemu_pids(killed["id"])):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.kill(pids[0], signal.SIGKILL)
    done = zunray.wait(killed["id"], timeout_s=60)
    assert done["status"] == "Failed" and "stopped without an exit code" in done["status_reason"]
    timed_out = zunray.wait(slow["id"], timeout_s=120)
    assert timed_out["status"] == "TimedOut"
    assert not qemu_pids(slow["id"]) and not qemu_pids(killed["id"])


def test_vm_jobs_refuse_what_a_vm_cannot_give(zunray):
    resp = zunray.http.post(
        "/v1/jobs", json={"image": "busybox:latest", "runtime": "vm", "network": "project"}
    )
    assert resp.status_code == 400 and "runtime vm runs without a network" in resp.text


def test_no_vm_outlives_its_node_actor(zunray, ray_driver):
    import ray

    from actors.bootstrap import node_actor_name

    job = _vm_job(zunray, ["sleep", "120"])
    running = zunray.wait(job["id"], until=("Running",), timeout_s=120)
    assert qemu_pids(job["id"])
    vm_files = f"*/zunray-vm-{job['id'][:8]}-*"
    assert list((zunray.settings.data_dir / "vm-runs").glob(vm_files))  # its initrd and console
    ray.kill(
        ray.get_actor(node_actor_name(running["host"]), namespace=zunray.settings.ray_namespace),
        no_restart=False,
    )
    deadline = time.monotonic() + 15
    while qemu_pids(job["id"]):
        assert time.monotonic() < deadline, "QEMU outlived its node actor"
        time.sleep(0.2)
    done = zunray.wait(job["id"], timeout_s=60)
    assert done["status"] == "Failed" and "node actor restarted" in done["status_reason"]
    assert not list(
        (zunray.settings.data_dir / "vm-runs").glob(vm_files)
    )  # the next node actor removed what the VM left


def test_the_cli_submits_a_vm_job(zunray, monkeypatch, capsys):
    from runner.cli.main import main as cli_main

    for key, value in zunray.settings.to_env().items():
        monkeypatch.setenv(key, value)
    assert (
        cli_main(
            [
                "submit",
                "--runtime",
                "vm",
                "--memory-mb",
                "128",
                "busybox:latest",
                "--",
                "echo",
                "from the cli in a vm",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "from the cli in a vm" in out and "Succeeded" in out, out
    assert "Starting  booting VM (tcg)" in out, out  # what the user saw while it booted
    job_id = out.split()[1]
    assert zunray.http.get(f"/v1/jobs/{job_id}").json()["runtime"] == "vm"
