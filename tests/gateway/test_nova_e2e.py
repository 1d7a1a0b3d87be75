"""runtime: nova — a Nova server per job, against an HTTP-level stand-in of Nova's
servers API whose servers are real Docker engines (tests/nova_standin.py)."""

from __future__ import annotations

import subprocess
import time

import pytest

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
    settings = test_settings(tmp_path_factory.mktemp("nova-stack"), nova_url=nova.url, nova_image="debian-docker", nova_flavor="m1.small", nova_active_timeout_s=30)
    yield from run_stack(settings)


def test_a_job_runs_on_its_own_server_which_is_deleted_after(cloud, nova):
    [host] = cloud.http.get("/v1/cluster/hosts").json()["hosts"]
    assert "nova" in host["runtimes"]
    before = nova.created
    job = cloud.submit(command=["sh", "-c", "echo hello from a nova server; sleep 2; exit 4"], runtime="nova")
    cloud.wait(job["id"], until=("Running",), timeout_s=60)
    [server] = nova.servers.values()  # one server for the job, findable by name and metadata
    assert server["name"].startswith(f"zunray-{cloud.settings.instance}-default-{job['id'][:8]}")
    assert server["metadata"]["zunray.capsule"] == job["id"] and server["metadata"]["zunray.project"] == "default"
    assert (server["image"]["id"], server["flavor"]["id"]) == ("debian-docker", "m1.small")
    done = cloud.wait(job["id"], timeout_s=60)
    assert (done["status"], done["exit_code"]) == ("Failed", 4), done["status_reason"]
    assert cloud.http.get(f"/v1/jobs/{job['id']}/logs").text == "hello from a nova server\n"
    _until_no_servers(nova)  # deleted with the job
    assert nova.created == before + 1
    assert cloud.containers(uuid=job["id"]) == []  # nothing ran on the host's own engine
    assert subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0  # the host engine's bridge is untouched


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
    assert broken["status"] == "Failed" and "went to ERROR instead of ACTIVE" in broken["status_reason"]
    _until_no_servers(nova)
