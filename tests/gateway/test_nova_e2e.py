"""runtime: nova — a Nova server per job, or servers shared by a project's jobs and Zun
containers, against an HTTP-level stand-in of Nova's servers API whose servers are real
Docker engines (tests/nova_standin.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.certs import TestCA
from tests.conftest import ZUN_HEADERS as ZUN
from tests.conftest import free_port, run_stack, test_settings
from tests.nova_standin import NovaStandIn

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def nova(tmp_path_factory):
    standin = NovaStandIn(free_port(low=24600), tmp_path_factory.mktemp("nova")).start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, nova):
    settings = test_settings(
        tmp_path_factory.mktemp("nova-stack"),
        nova_url=nova.url,
        nova_image="debian-docker",
        nova_flavor="m1.small",
        nova_active_timeout_s=30,
        nova_insecure_engines=True,  # the stand-in's engines are plain TCP on loopback
    )
    yield from run_stack(settings)


def test_a_job_runs_on_its_own_server_which_is_deleted_after(cloud, nova):
    [host] = cloud.http.get("/v1/cluster/hosts").json()["hosts"]
    assert "nova" in host["runtimes"]
    before = nova.created
    job = cloud.submit(
        command=["sh", "-c", "echo hello from a nova server; sleep 2; exit 4"], runtime="nova"
    )
    cloud.wait(job["id"], until=("Running",), timeout_s=60)
    [server] = nova.servers.values()  # one server for the job, findable by name and metadata
    assert server["name"].startswith(f"zunray-{cloud.settings.instance}-default-{job['id'][:8]}")
    assert (
        server["metadata"]["zunray.capsule"] == job["id"]
        and server["metadata"]["zunray.project"] == "default"
    )
    assert (server["image"]["id"], server["flavor"]["id"]) == ("debian-docker", "m1.small")
    done = cloud.wait(job["id"], timeout_s=60)
    assert (done["status"], done["exit_code"]) == ("Failed", 4), done["status_reason"]
    assert cloud.http.get(f"/v1/jobs/{job['id']}/logs").text == "hello from a nova server\n"
    _until_no_servers(nova)  # deleted with the job
    assert nova.created == before + 1
    assert cloud.containers(uuid=job["id"]) == []  # nothing ran on the host's own engine
    assert (
        subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0
    )  # the host engine's bridge is untouched


def _until_no_servers(nova) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 20
    while nova.servers:
        assert time.monotonic() < deadline, nova.servers
        time.sleep(0.2)


def test_cancel_deletes_the_server_and_a_server_in_error_fails_the_job(cloud, nova):
    job = cloud.submit(command=["sleep", "60"], runtime="nova")
    cloud.wait(job["id"], until=("Running",), timeout_s=60)
    cloud.http.post(f"/v1/jobs/{job['id']}/cancel")
    assert cloud.wait(job["id"], timeout_s=60)["status"] == "Cancelled"
    _until_no_servers(nova)
    nova.fail_next = True
    broken = cloud.wait(cloud.submit(command=["true"], runtime="nova")["id"], timeout_s=60)
    assert (
        broken["status"] == "Failed"
        and "went to ERROR instead of ACTIVE" in broken["status_reason"]
    )
    _until_no_servers(nova)


# -- scope project: a project's capsules share servers, deleted once idle ------------------------
IDLE_S = 3.0


@pytest.fixture(scope="module")
def shared_cloud(tmp_path_factory, nova):
    settings = test_settings(
        tmp_path_factory.mktemp("nova-shared"),
        nova_url=nova.url,
        nova_image="debian-docker",
        nova_flavor="m1.small",
        nova_active_timeout_s=30,
        nova_server_scope="project",
        nova_idle_s=IDLE_S,
        nova_capsules_per_server=2,
        nova_insecure_engines=True,
    )
    yield from run_stack(settings)


def test_a_projects_jobs_share_a_server_that_is_deleted_once_idle(shared_cloud, nova):
    _until_no_servers(nova)
    before = nova.created
    other = {"X-Project-Id": "other"}
    jobs = [
        shared_cloud.submit(command=["sh", "-c", f"sleep 2; echo job {i}"], runtime="nova")
        for i in range(3)
    ]
    theirs = shared_cloud.http.post(
        "/v1/jobs",
        json={"image": "busybox:latest", "command": ["echo", "theirs"], "runtime": "nova"},
        headers=other,
    ).json()
    for i, job in enumerate(jobs):
        done = shared_cloud.wait(job["id"], timeout_s=90)
        assert done["status"] == "Succeeded", done["status_reason"]
        assert shared_cloud.http.get(f"/v1/jobs/{job['id']}/logs").text == f"job {i}\n"
    assert shared_cloud.wait(theirs["id"], timeout_s=90, headers=other)["status"] == "Succeeded"
    # three jobs of one project at two per server, and one of another project: three servers, not four
    assert nova.created - before == 3
    assert {s["metadata"]["zunray.scope"] for s in nova.servers.values()} == {"project"}
    assert sorted(s["metadata"]["zunray.project"] for s in nova.servers.values()) == [
        "default",
        "default",
        "other",
    ]
    assert all(s["name"].endswith("-shared") for s in nova.servers.values())
    again = shared_cloud.wait(
        shared_cloud.submit(command=["echo", "warm"], runtime="nova")["id"], timeout_s=60
    )
    assert (
        again["status"] == "Succeeded" and nova.created - before == 3
    )  # an idle server of the project takes the next job
    time.sleep(IDLE_S)
    _until_no_servers(nova)  # nobody used them for nova_idle_s: deleted


def test_a_zun_container_on_a_nova_server_survives_a_node_actor_restart(shared_cloud, nova):
    _until_no_servers(nova)
    body = {
        "image": "busybox:latest",
        "command": ["sh", "-c", "echo up on nova; sleep 300"],
        "runtime": "nova",
        "name": "on-nova",
    }
    created = shared_cloud.http.post("/v1/containers?run=true", json=body, headers=ZUN)
    assert created.status_code == 202, created.text
    uuid = created.json()["uuid"]
    try:
        shared_cloud.container_until(uuid, "Running")
        [server] = nova.servers.values()
        assert shared_cloud.containers(uuid=uuid) == []  # nothing on the host's own engine
        shared_cloud.container_logs_until(uuid, "up on nova")
        ran = shared_cloud.http.post(
            f"/v1/containers/{uuid}/execute",
            params={"command": "cat /proc/1/cmdline", "run": "true"},
            headers=ZUN,
        ).json()
        assert ran["exit_code"] == 0 and "sleep" in ran["output"]
        [host] = shared_cloud.http.get("/v1/cluster/hosts").json()["hosts"]
        os.kill(
            host["pid"], signal.SIGKILL
        )  # the node actor dies; Ray starts another that takes the server back
        deadline = time.monotonic() + 60
        while (h := shared_cloud.http.get("/v1/cluster/hosts").json()["hosts"][0])["pid"] == host[
            "pid"
        ] or not h.get("up", True):
            assert time.monotonic() < deadline, "no new node actor"
            time.sleep(0.3)
        assert (
            shared_cloud.http.post(
                f"/v1/containers/{uuid}/stop", params={"timeout": 1}, headers=ZUN
            ).status_code
            == 202
        )
        shared_cloud.container_until(uuid, "Stopped")
        assert list(nova.servers) == [server["id"]]  # the same server, kept through the restart
    finally:
        shared_cloud.delete_container(uuid)
    time.sleep(IDLE_S)
    _until_no_servers(nova)


# -- TLS to the servers' engines -------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_nova(tmp_path_factory):
    root = tmp_path_factory.mktemp("nova-tls")
    standin = NovaStandIn(free_port(low=24700), root, tls_ca=TestCA()).start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def tls_cloud(tmp_path_factory, tls_nova):
    certs = tls_nova.tls_ca.write_client(tmp_path_factory.mktemp("node-certs"))
    settings = test_settings(
        tmp_path_factory.mktemp("nova-tls-stack"),
        nova_url=tls_nova.url,
        nova_image="debian-docker",
        nova_flavor="m1.small",
        nova_active_timeout_s=30,
        nova_engine_port=2376,
        nova_engine_cert_path=certs,
    )
    yield from run_stack(settings)


def test_engines_are_reached_over_tls_and_a_certificate_from_another_ca_is_refused(
    tls_cloud, tls_nova
):
    job = tls_cloud.wait(
        tls_cloud.submit(command=["echo", "over tls"], runtime="nova")["id"], timeout_s=90
    )
    assert job["status"] == "Succeeded", job["status_reason"]
    assert tls_cloud.http.get(f"/v1/jobs/{job['id']}/logs").text == "over tls\n"
    tls_nova.rogue_next = True  # the next server's engine is not who the cloud's CA says
    refused = tls_cloud.wait(
        tls_cloud.submit(command=["echo", "never"], runtime="nova")["id"], timeout_s=90
    )
    assert (
        refused["status"] == "Failed" and "CERTIFICATE_VERIFY_FAILED" in refused["status_reason"]
    ), refused["status_reason"]
    _until_no_servers(tls_nova)  # its server was deleted all the same


def test_a_certificate_directory_missing_a_file_is_refused(tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    with pytest.raises(ValueError, match="has no cert.pem, key.pem"):
        test_settings(tmp_path, nova_engine_cert_path=tmp_path)


def test_a_zun_capsule_on_a_nova_server(shared_cloud, nova):
    _until_no_servers(nova)
    shared = [{"name": "shared", "mountPath": "/data"}]
    template = {
        "kind": "capsule",
        "metadata": {"name": "on-nova"},
        "spec": {
            "runtime": "nova",
            "restartPolicy": "Never",
            "volumes": [{"name": "shared"}],
            "initContainers": [
                {
                    "name": "seed",
                    "image": "busybox:latest",
                    "command": ["sh", "-c", "echo seeded > /data/seed"],
                    "volumeMounts": shared,
                }
            ],
            "containers": [
                {
                    "name": "server",
                    "image": "busybox:latest",
                    "command": ["sh", "-c", "while true; do nc -l -p 8080 -e cat /data/seed; done"],
                    "volumeMounts": shared,
                },
                {
                    "name": "client",
                    "image": "busybox:latest",
                    "command": [
                        "sh",
                        "-c",
                        "until nc 127.0.0.1 8080 </dev/null | grep -q seeded; do sleep 0.2; done",
                    ],
                },
            ],
        },
    }
    created = shared_cloud.http.post("/v1/capsules", json={"template": template}, headers=ZUN)
    assert created.status_code == 202, created.text
    uuid = created.json()["uuid"]
    try:
        deadline = (
            time.monotonic() + 60
        )  # the client read, over the capsule's loopback, what the init container wrote; the server runs on
        while True:
            cap = shared_cloud.http.get(f"/v1/capsules/{uuid}", headers=ZUN).json()
            if [m["status"] for m in cap["containers"]] == ["Running", "Stopped"]:
                break
            assert time.monotonic() < deadline and cap["status"] != "Error", (
                cap["status"],
                cap["status_reason"],
                cap["containers"],
            )
            time.sleep(0.3)
        assert cap["runtime"] == "nova" and len(nova.servers) == 1
        assert shared_cloud.containers(capsule=uuid) == []  # all of it on the server's engine
    finally:
        assert shared_cloud.http.delete(f"/v1/capsules/{uuid}", headers=ZUN).status_code == 204
    assert shared_cloud.http.get(f"/v1/capsules/{uuid}", headers=ZUN).status_code == 404
    time.sleep(IDLE_S)
    _until_no_servers(nova)
