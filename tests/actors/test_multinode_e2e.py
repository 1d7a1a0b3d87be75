"""Two Ray nodes on one machine (raylets on 127.0.0.2 and 127.0.0.3): a node that
joins gets a NodeActor, and a job on a node that dies is placed again elsewhere."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from runner.local import procs
from runner.local.stack import process_env as stack_env
from tests.conftest import run_stack, test_settings

pytestmark = [pytest.mark.docker, pytest.mark.ray]


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    settings = test_settings(
        tmp_path_factory.mktemp("multinode"),
        placement_scores={"spread": 1.0},
        host_heartbeat_s=1.0,
        host_down_after_s=4.0,
    )
    for stack in run_stack(settings):
        ray_bin = str(Path(sys.executable).with_name("ray"))
        procs.spawn(
            "worker",
            [
                ray_bin,
                "start",
                "--block",
                f"--address={settings.ray_address_resolved}",
                "--node-ip-address=127.0.0.3",
                "--num-cpus=1",
                "--object-store-memory=80000000",
                "--disable-usage-stats",
            ],
            run_dir=settings.run_dir,
            log_dir=settings.data_dir / "logs",
            env=stack_env(settings),
        )
        try:
            deadline = time.monotonic() + 60
            while len(stack.http.get("/healthz").json()["cluster"]["hosts"]) < 2:
                assert time.monotonic() < deadline, "the second node never registered"
                time.sleep(0.5)
            yield stack
        finally:
            procs.stop("worker", settings.run_dir)


def test_anti_affinity_overrides_spread(two_nodes):
    # a filler makes one host busy: spread alone would put both probes on the other one
    filler = two_nodes.submit(command=["sleep", "15"], resources={"cpu": 1.5, "memory_mb": 32})
    try:
        busy = two_nodes.wait(filler["id"], until=("Running",))["host"]
        probe = {
            "command": ["sleep", "3"],
            "labels": {"role": "probe"},
            "anti_affinity": {"role": "probe"},
            "resources": {"cpu": 0.1, "memory_mb": 32},
        }
        first = two_nodes.submit(**probe)
        first_host = two_nodes.wait(first["id"], until=("Running",))["host"]
        assert first_host != busy  # spread
        second = two_nodes.submit(**probe)
        assert (
            two_nodes.wait(second["id"], until=("Running", "Succeeded"))["host"] == busy
        )  # anti-affinity beat spread
    finally:
        two_nodes.http.post(f"/v1/jobs/{filler['id']}/cancel")
    for job in (first, second):
        assert two_nodes.wait(job["id"])["status"] == "Succeeded"


def test_a_node_cut_off_and_back_does_not_record_a_job_that_moved_on(two_nodes):
    import os
    import signal
    from datetime import datetime

    filler = two_nodes.submit(command=["sleep", "60"], resources={"cpu": 1.5, "memory_mb": 32})
    try:
        busy = two_nodes.wait(filler["id"], until=("Running",))["host"]
        job = two_nodes.submit(command=["sh", "-c", "sleep 6; echo finished on $HOSTNAME"])
        cut = two_nodes.wait(job["id"], until=("Running",))["host"]
        assert cut != busy  # spread: away from the filler
    finally:
        two_nodes.http.post(f"/v1/jobs/{filler['id']}/cancel")
    pid = [h for h in two_nodes.http.get("/v1/cluster/hosts").json()["hosts"] if h["name"] == cut][
        0
    ]["pid"]
    os.kill(pid, signal.SIGSTOP)  # that node actor is cut off: no heartbeats, no store writes
    try:
        deadline = time.monotonic() + 60
        while (moved := two_nodes.http.get(f"/v1/jobs/{job['id']}").json())["host"] in (
            cut,
            None,
        ) or moved["status"] != "Running":
            assert time.monotonic() < deadline, (
                moved["status"],
                moved["host"],
                moved["status_reason"],
            )
            time.sleep(0.3)
    finally:
        os.kill(pid, signal.SIGCONT)  # back: its run of the job is stale
    done = two_nodes.wait(job["id"], timeout_s=60)
    assert (done["status"], done["host"]) == ("Succeeded", busy), done["status_reason"]
    assert [h["status"] for h in done["history"]].count("Succeeded") == 1
    at = {
        h["status"]: datetime.fromisoformat(h["at"]).timestamp() for h in done["history"]
    }  # the last of each status
    assert (
        at["Succeeded"] - at["Running"] >= 5.0
    )  # the new run (sleep 6) recorded it, not the stale one that ended while cut off
    time.sleep(3)  # the cut node's fence timer and its stale run's end
    assert two_nodes.wait(job["id"])["host"] == busy  # the stale run recorded nothing
    assert not [c for c in two_nodes.containers(uuid=job["id"]) if c.status == "running"]
    deadline = (
        time.monotonic() + 30
    )  # the cut node heartbeats again: both hosts up for the next test
    while not all(h["up"] for h in two_nodes.http.get("/healthz").json()["cluster"]["hosts"]):
        assert time.monotonic() < deadline
        time.sleep(0.5)


def test_a_joining_node_gets_a_node_actor_and_a_lost_node_gives_its_job_back(two_nodes):
    hosts = {h["name"]: h for h in two_nodes.http.get("/healthz").json()["cluster"]["hosts"]}
    head = next(name for name in hosts if name.endswith("127.0.0.2"))
    worker = next(name for name in hosts if name.endswith("127.0.0.3"))
    pin = two_nodes.http.post(
        "/v1/containers?run=true",
        json={
            "image": "busybox:latest",
            "command": ["sleep", "300"],
            "cpu": 1,
            "memory": 64,
            "host": head,
        },
        headers={"OpenStack-API-Version": "container latest"},
    ).json()
    zun = {"OpenStack-API-Version": "container latest"}
    always = two_nodes.http.post(
        "/v1/containers?run=true",
        json={
            "image": "busybox:latest",
            "command": ["sleep", "300"],
            "cpu": 0.1,
            "memory": 32,
            "restart_policy": {"Name": "always"},
        },
        headers=zun,
    ).json()
    never = two_nodes.http.post(
        "/v1/containers?run=true",
        json={"image": "busybox:latest", "command": ["sleep", "300"], "cpu": 0.1, "memory": 32},
        headers=zun,
    ).json()
    job = two_nodes.submit(command=["sh", "-c", "sleep 3; echo done"])
    running = two_nodes.wait(job["id"], until=("Running",))
    assert running["host"] == worker  # spread: the emptier node
    for c in (always, never):
        assert (
            _until_running(two_nodes, c["uuid"])["host"] == worker
        )  # spread: away from the pinned one
    procs.stop("worker", two_nodes.settings.run_dir)  # the worker machine dies
    done = two_nodes.wait(job["id"], timeout_s=90)
    assert done["status"] == "Succeeded", (done["status_reason"], done["history"])
    assert done["host"] == head
    assert any(f"host {worker} lost" in h["reason"] for h in done["history"])
    assert two_nodes.http.get(f"/v1/containers/{pin['uuid']}", headers=zun).json()["host"] == head
    moved = _until_running(
        two_nodes, always["uuid"]
    )  # restart policy always: created again on the head
    assert moved["host"] == head
    lost = two_nodes.http.get(f"/v1/containers/{never['uuid']}", headers=zun).json()
    assert (lost["status"], lost["host"]) == ("Unknown", worker) and f"host {worker} lost" in lost[
        "status_reason"
    ]


def _until_running(stack, uuid: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while (
        c := stack.http.get(
            f"/v1/containers/{uuid}", headers={"OpenStack-API-Version": "container latest"}
        ).json()
    )["status"] != "Running":
        assert time.monotonic() < deadline, (c["status"], c["status_reason"], c["host"])
        time.sleep(0.5)
    return c
