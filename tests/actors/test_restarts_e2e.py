"""Nothing is lost when the gateway or a node actor dies (real Ray, Docker, SQLite)."""

from __future__ import annotations

import os
import signal
import uuid

import pytest
import ray

from actors.bootstrap import node_actor_name
from runner.local import procs, stack
from runner.models import CapsuleSpec, ContainerSpec, Job, Resources
from runner.store import Store

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def test_gateway_killed_right_after_202_the_job_still_runs_once(zunray):
    job = zunray.submit(command=["sh", "-c", "echo survived"])
    os.kill(procs.recorded("gateway", zunray.settings.run_dir), signal.SIGKILL)
    stack.up(zunray.settings)  # brings the gateway back; Ray and the actors kept running
    done = zunray.wait(job["id"])
    assert (done["status"], done["attempt"]) == ("Succeeded", 1)
    assert zunray.http.get(f"/v1/jobs/{job['id']}/logs").text == "survived\n"


def test_job_committed_but_never_announced_is_picked_up_from_the_store(zunray):
    # what a gateway killed between its commit and its call to placement leaves behind
    store = Store(zunray.settings.store_url_resolved)
    job = Job(
        id=str(uuid.uuid4()),
        project_id="default",
        user_id="admin",
        capsule=CapsuleSpec(
            containers=(
                ContainerSpec(
                    image="busybox:latest",
                    command=("echo", "from the store"),
                    resources=Resources(cpu=0.25, memory_mb=32),
                ),
            )
        ),
    )
    store.jobs.create_job(job)
    store.close()
    done = zunray.wait(job.id, timeout_s=30)
    assert done["status"] == "Succeeded"
    assert zunray.http.get(f"/v1/jobs/{job.id}/logs").text == "from the store\n"


def test_node_actor_killed_while_its_job_runs_adopts_the_container(zunray, ray_driver):
    job = zunray.submit(command=["sh", "-c", "sleep 3; echo finished"])
    running = zunray.wait(job["id"], until=("Running",))
    node = ray.get_actor(node_actor_name(running["host"]), namespace=zunray.settings.ray_namespace)
    ray.kill(node, no_restart=False)  # Ray restarts it; it must find its container by labels
    done = zunray.wait(job["id"], timeout_s=60)
    assert (done["status"], done["exit_code"]) == ("Succeeded", 0), done
    assert "finished" in zunray.http.get(f"/v1/jobs/{job['id']}/logs").text
    assert zunray.no_containers(job["id"])
    # and the restarted node keeps taking work
    assert zunray.wait(zunray.submit(command=["true"])["id"])["status"] == "Succeeded"
