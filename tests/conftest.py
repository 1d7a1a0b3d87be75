"""One real Zunray stack (Ray head, actors, gateway, SQLite) per test session.

The stack runs under its own instance name, data directory and ports, so it
never touches a developer's own `zunray up`; every container it made is
removed at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import httpx
import pytest

from runner.local import stack
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.networks import remove_project_networks
from runner.settings import Settings

# the real Keystone and the stack that authenticates against it (shared by the Keystone tests and tests/security)
pytest_plugins = ["tests.tenancy"]


def free_port(low: int = 0) -> int:
    if low:
        for port in range(low, low + 2000):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ZUN_HEADERS = {"OpenStack-API-Version": "container 1.40"}


@dataclass
class Stack:
    settings: Settings
    http: httpx.Client
    docker: docker.DockerClient

    def containers(self, **labels: str) -> list:
        wanted = [f"zunray.instance={self.settings.instance}"] + [
            f"zunray.{k}={v}" for k, v in labels.items()
        ]
        return self.docker.containers.list(all=True, filters={"label": wanted})

    def no_containers(self, job_id: str, *, within_s: float = 5.0) -> bool:
        """True once no container of ``job_id`` is left (removal follows the outcome)."""
        deadline = time.monotonic() + within_s
        wanted = [f"zunray.instance={self.settings.instance}", f"zunray.uuid={job_id}"]
        while self.docker.api.containers(
            all=True, filters={"label": wanted}
        ):  # no per-container inspect: no race
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def container_until(self, uuid: str, status: str, *, timeout_s: float = 90.0) -> dict:
        """A Zun container, once it shows ``status``."""
        deadline = time.monotonic() + timeout_s
        while (c := self.http.get(f"/v1/containers/{uuid}", headers=ZUN_HEADERS).json())[
            "status"
        ] != status:
            assert time.monotonic() < deadline, (c["status"], c["status_reason"])
            time.sleep(0.2)
        return c

    def container_logs_until(self, uuid: str, text: str, *, timeout_s: float = 10.0) -> str:
        """A Zun container's logs, once they hold ``text`` (a running container writes after its start)."""
        deadline = time.monotonic() + timeout_s
        while text not in (
            logs := self.http.get(f"/v1/containers/{uuid}/logs", headers=ZUN_HEADERS).text
        ):
            assert time.monotonic() < deadline, logs
            time.sleep(0.2)
        return logs

    def delete_container(self, uuid: str, *, timeout_s: float = 30.0) -> None:
        """Force-delete a Zun container and wait until it is gone (404)."""
        self.http.delete(f"/v1/containers/{uuid}", params={"force": "True"}, headers=ZUN_HEADERS)
        deadline = time.monotonic() + timeout_s
        while self.http.get(f"/v1/containers/{uuid}", headers=ZUN_HEADERS).status_code != 404:
            assert time.monotonic() < deadline, f"container {uuid} is still there"
            time.sleep(0.2)

    def submit(self, **body) -> dict:  # noqa: ANN003
        body.setdefault("image", "busybox:latest")
        body.setdefault("resources", {"cpu": 0.25, "memory_mb": 64})
        resp = self.http.post("/v1/jobs", json=body)
        assert resp.status_code == 202, resp.text
        return resp.json()

    def wait(
        self,
        job_id: str,
        *,
        timeout_s: float = 60.0,
        until: tuple[str, ...] = ("Succeeded", "Failed", "Cancelled", "TimedOut"),
        headers: dict | None = None,
    ) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.http.get(
                f"/v1/jobs/{job_id}",
                params={"wait_s": 0.5 if "Succeeded" in until else 0},
                headers=headers,
            ).json()
            if job["status"] in until:
                return job
            assert time.monotonic() < deadline, (
                f"job {job_id} still {job['status']}: {job['status_reason']}"
            )
            if "Succeeded" not in until:
                time.sleep(0.1)


def test_settings(data_dir, **overrides) -> Settings:  # noqa: ANN001, ANN003
    """Settings of a stack of its own: instance name, data directory, ports."""
    instance = f"test{uuid.uuid4().hex[:8]}"
    values = dict(
        data_dir=data_dir,
        instance=instance,
        ray_namespace=instance,
        gateway_port=free_port(),
        ray_port=free_port(low=int(os.environ.get("ZUNRAY_TEST_RAY_PORT", "27000"))),
        retry_base_s=0.2,
        usage_interval_s=1.0,
        dashboard_sample_s=1.0,  # the dashboard test's charts fill in seconds
        retry_max_s=1.0,
        min_schedule_interval_s=1,  # the schedule tests fire every few seconds
        trace_exporter=f"file:{data_dir / 'traces.jsonl'}",
        # the Glance stand-in (tests/glance_standin.py) listens here when a test starts it
        glance_url=f"http://127.0.0.1:{free_port(low=24000)}",
        # the private registries tests start (tests/registry.py) listen on 127.0.0.1, on any free port
        allowed_registries=("127.0.0.1",),
    )
    values.update(overrides)
    return Settings(**values)


test_settings.__test__ = False  # a helper, not a test


def run_stack(settings: Settings) -> Iterator[Stack]:
    """Up, yield, then down and remove every container the stack made."""
    client = docker.from_env(version="auto")
    try:
        stack.up(settings)
        with httpx.Client(base_url=settings.gateway_url, timeout=60) as http:
            yield Stack(settings=settings, http=http, docker=client)
    finally:
        remove_stack(settings, client)
        client.close()


def remove_stack(settings: Settings, client: docker.DockerClient) -> None:
    """Down (if up), and remove every container, volume, secret file and project network of the
    stack's instance."""
    stack.down(settings)
    for c in client.containers.list(
        all=True, filters={"label": f"zunray.instance={settings.instance}"}
    ):
        c.remove(force=True)
    for v in client.volumes.list(filters={"label": f"zunray.instance={settings.instance}"}):
        v.remove(force=True)
    shutil.rmtree(settings.secret_files_dir / settings.instance, ignore_errors=True)
    # the real engine, even for a stack that was pointed at a missing one
    remove_project_networks(
        DockerRuntime(
            url=Settings.model_fields["docker_url"].default,
            instance=settings.instance,
            node="teardown",
        )
    )


@pytest.fixture
def sqlite_store(tmp_path):
    """A migrated SQLite store of its own (pure logic over a real store: no Ray, no Docker)."""
    from runner.store import Store

    s = Store(f"sqlite:///{tmp_path / 'z.db'}")
    s.migrate()
    yield s
    s.close()


@pytest.fixture(scope="session")
def zunray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared stack of the test session."""
    yield from run_stack(test_settings(tmp_path_factory.mktemp("zunray")))


@pytest.fixture(scope="session")
def ray_driver(zunray):
    """This test process as a Ray driver of the shared stack (to kill actors)."""
    import ray

    from runner.ray_connect import connect

    connect(zunray.settings)
    yield
    ray.shutdown()
