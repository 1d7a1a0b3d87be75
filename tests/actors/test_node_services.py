"""The node actor's services built and run without Ray and without Docker: a real store
(SQLite), an engine in memory (``fake_runtime``). Building them does no I/O; what a
node does after a restart (adopt, end, retry), fencing and cpu isolation are decided
here as on a real host."""

from __future__ import annotations

import time
import uuid

import pytest

import actors.node
import actors.node_nova
from actors.node import NodeActor
from actors.node_container_actions import ContainerActions
from actors.node_containers import Containers
from actors.node_host import HostContext
from actors.node_isolation import Isolation
from actors.node_jobs import Jobs
from actors.node_metering import Metering
from actors.node_nova import NovaServersOfNode
from runner.errors import InvalidSpec
from runner.models import CapsuleSpec, ContainerSpec, Job, JobStatus, Resources
from runner.runtimes.egress import Firewall
from runner.runtimes.docker_types import LongRunning
from runner.runtimes.networks import ProjectNetworks
from runner.runtimes.registry import (
    DockerContainers,
    NewContainer,
    NovaContainers,
    Runtimes,
    VmContainers,
)
from runner.runtimes.vm import VmRuntime
from runner.runtimes.vm_containers import VmOps
from runner.settings import Settings
from tests.actors.fake_runtime import FakeContainer, FakeRuntime

HOST = "h1"


def _host(store, tmp_path, runtime, finished=lambda *args: None) -> HostContext:  # noqa: ANN001
    return HostContext(
        name=HOST,
        store=store,
        runtime=runtime,
        settings=Settings(data_dir=tmp_path, reserved_shared_cpus=1),
        finished=finished,
    )


def _runtimes(host: HostContext, tmp_path) -> Runtimes:  # noqa: ANN001
    vm = VmRuntime(
        docker=host.runtime,
        kernel=tmp_path / "no-kernel",
        cache_dir=tmp_path / "images",
        run_dir=tmp_path / "runs",
    )
    networks = ProjectNetworks(host.runtime, Firewall("fake", blocked=()))
    return Runtimes(
        DockerContainers(host.runtime, networks),
        VmContainers(vm, VmOps(vm)),
        NovaContainers(host.runtime, NovaServersOfNode(host).pool),
    )


def _jobs(host: HostContext, tmp_path) -> Jobs:  # noqa: ANN001
    isolation = Isolation(host, cpu_topology=lambda: {0: [0, 1, 2, 3]})
    isolation.start()
    return Jobs(
        host, isolation=isolation, metering=Metering(host), runtimes=_runtimes(host, tmp_path)
    )


def _placed_job(store, *, max_retries: int = 0, runtime: str = "runc") -> Job:  # noqa: ANN001
    spec = CapsuleSpec(
        containers=(ContainerSpec("busybox", resources=Resources(cpu=1, memory_mb=64)),),
        runtime=runtime,
    )
    job, _ = store.jobs.create_job(
        Job(
            id=str(uuid.uuid4()),
            project_id="p1",
            user_id="u",
            capsule=spec,
            max_retries=max_retries,
        )
    )
    return store.jobs.transition_job(job.id, JobStatus.PLACED, host=HOST)


def _running_job(store, *, max_retries: int = 0) -> Job:  # noqa: ANN001
    job = _placed_job(store, max_retries=max_retries)
    store.jobs.transition_job(job.id, JobStatus.STARTING, attempt=1)
    return store.jobs.transition_job(job.id, JobStatus.RUNNING, started_at=time.time())


def _until(check, timeout_s: float = 5.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.01)


def test_building_a_node_actor_reads_no_cpus_and_reaches_no_engine_nor_nova(
    sqlite_store, tmp_path, monkeypatch
):
    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a constructor did I/O")

    monkeypatch.setattr(actors.node, "numa_nodes", refuse)  # reads /sys
    monkeypatch.setattr(actors.node_nova, "nova_pool", refuse)  # its client reaches the endpoint
    runtime = FakeRuntime(
        [FakeContainer("left-over", {"zunray.node": HOST, "zunray.capsule": "gone"})]
    )
    settings = Settings(
        data_dir=tmp_path, nova_url="http://127.0.0.1:9", nova_insecure_engines=True
    )
    NodeActor(name=HOST, store=sqlite_store, runtime=runtime, settings=settings, finished=refuse)
    assert runtime.calls == []
    assert "left-over" in runtime.containers  # removing what no capsule claims is start()'s work
    assert not (tmp_path / "vm-runs").exists()  # nor clearing what earlier VMs left


@pytest.mark.parametrize(
    ("max_retries", "status"),
    [(0, JobStatus.FAILED), (1, JobStatus.QUEUED)],
    ids=["no-retry-ends", "retry-queues-again"],
)
def test_after_a_restart_a_job_whose_container_is_gone_ends_or_is_retried(
    sqlite_store, tmp_path, max_retries, status
):
    finished = []
    job = _running_job(sqlite_store, max_retries=max_retries)
    jobs = _jobs(
        _host(
            sqlite_store,
            tmp_path,
            FakeRuntime(),
            finished=lambda obj_id, kind="job": finished.append(obj_id),
        ),
        tmp_path,
    )
    jobs.start({})  # Docker has nothing of it
    after = sqlite_store.jobs.get_job(job.id)
    assert after.status is status
    assert "container lost while the node actor restarted" in after.status_reason
    assert (
        (after.not_before or 0) > time.time() if status is JobStatus.QUEUED else after.finished_at
    )
    assert finished == [job.id]  # placement is told the host is free
    assert jobs.running() == []


def test_an_adopted_job_keeps_its_output_and_is_stopped_here_once_it_moved_to_another_host(
    sqlite_store, tmp_path
):
    finished = []
    job = _running_job(sqlite_store)
    app = FakeContainer(
        "c1",
        {
            "zunray.node": HOST,
            "zunray.capsule": job.id,
            "zunray.role": "app",
            "zunray.container": "main",
        },
        output=b"hello\n",
    )
    runtime = FakeRuntime([app])
    jobs = _jobs(
        _host(
            sqlite_store,
            tmp_path,
            runtime,
            finished=lambda obj_id, kind="job": finished.append(obj_id),
        ),
        tmp_path,
    )
    found = {job.id: runtime.managed(capsule=job.id), "other": []}
    jobs.start(found)
    assert found == {
        "other": []
    }  # the job's containers are taken: nothing of them is removed as a leftover
    assert jobs.running() == [job.id]
    _until(lambda: jobs.logs(job.id) == b"hello\n")  # what the engine kept, read again
    jobs.fence()
    assert ("kill", "c1") not in runtime.calls  # still this host's attempt
    sqlite_store.jobs.update_job(job.id, host="h2")  # declared lost, placed again elsewhere
    jobs.fence()
    _until(lambda: finished == [job.id])
    assert ("kill", "c1") in runtime.calls and "c1" not in runtime.containers
    moved = sqlite_store.jobs.get_job(job.id)
    assert (moved.host, moved.status) == (
        "h2",
        JobStatus.RUNNING,
    )  # the stale run recorded nothing over the new placement


def test_a_dedicated_pin_moves_shared_containers_off_its_cpus_and_back_when_it_ends(
    sqlite_store, tmp_path
):
    shared = FakeContainer("shared", {"zunray.node": HOST, "zunray.capsule": "job-a"})
    runtime = FakeRuntime([shared])
    topology_reads = []
    isolation = Isolation(
        _host(sqlite_store, tmp_path, runtime),
        cpu_topology=lambda: topology_reads.append(1) or {0: [0, 1, 2, 3]},
    )
    assert (topology_reads, runtime.calls) == ([], [])
    isolation.start()
    dedicated = CapsuleSpec(
        containers=(ContainerSpec("busybox", resources=Resources(cpu=2, memory_mb=64)),),
        cpu_policy="dedicated",
    )
    assert isolation.cpuset_for("cap-b", dedicated) == ("0,1", "0")
    assert shared.cpuset == "2,3"
    assert isolation.pinning.dedicated_free() == 1  # one cpu stays for shared work
    isolation.release("cap-b")
    assert shared.cpuset == "0,1,2,3"


@pytest.mark.parametrize("action", ["adopt_after_restart", "run", "__init__", "_forget", "rename"])
def test_container_actions_run_only_the_listed_actions(sqlite_store, tmp_path, action):
    runtime = FakeRuntime()
    host = _host(sqlite_store, tmp_path, runtime)
    containers = Containers(
        host,
        isolation=Isolation(host, cpu_topology=dict),
        metering=Metering(host),
        runtimes=_runtimes(host, tmp_path),
    )
    with pytest.raises(InvalidSpec, match=f"unknown action {action}"):
        ContainerActions(containers).run("any-uuid", action, {})
    assert runtime.calls == []


@pytest.mark.parametrize(
    ("runtime", "cid", "kind"),
    [
        ("runc", "0123abcd", DockerContainers),
        ("runsc", "0123abcd", DockerContainers),
        ("vm", "vm-u1", VmContainers),
        ("nova", "nova-s1.0123", NovaContainers),
    ],
    ids=["runc", "runsc", "vm", "nova"],
)
def test_one_registry_tells_runtimes_apart_by_name_and_by_container_id(
    sqlite_store, tmp_path, runtime, cid, kind
):
    runtimes = _runtimes(_host(sqlite_store, tmp_path, FakeRuntime()), tmp_path)
    assert isinstance(runtimes.named(runtime), kind)
    assert isinstance(runtimes.of_container(cid), kind)


def test_a_nova_job_on_a_host_without_nova_fails_saying_so_and_frees_the_host(
    sqlite_store, tmp_path
):
    finished = []
    job = _placed_job(sqlite_store, runtime="nova")
    runtime = FakeRuntime()
    jobs = _jobs(
        _host(
            sqlite_store,
            tmp_path,
            runtime,
            finished=lambda obj_id, kind="job": finished.append(obj_id),
        ),
        tmp_path,
    )
    jobs.run(job)
    _until(lambda: finished == [job.id])
    failed = sqlite_store.jobs.get_job(job.id)
    assert failed.status is JobStatus.FAILED and "no Nova endpoint" in failed.status_reason, (
        failed.status_reason
    )
    assert runtime.calls == []  # nothing was made on this host's engine


def test_a_docker_zun_container_gets_its_volumes_network_cpus_and_files(sqlite_store, tmp_path):
    runtime = FakeRuntime()
    host = _host(sqlite_store, tmp_path, runtime)
    docker = _runtimes(host, tmp_path).named("runsc")
    spec = CapsuleSpec(
        containers=(ContainerSpec("busybox", resources=Resources(cpu=1, memory_mb=64)),),
        runtime="runsc",
    )
    cid = docker.create_container(
        NewContainer(
            uuid="u1",
            project="p1",
            capsule=spec,
            name="fake-u1",
            labels={},
            long_running=LongRunning(),
            cpuset=("2,3", "0"),
            volumes=("fake-p1-data",),
            files=b"a tar",
        )
    )
    made = runtime.calls[1]
    assert runtime.calls[0] == (
        "create_volume",
        "fake-p1-data",
        {"zunray.instance": "fake", "zunray.project": "p1"},
    )
    assert made[:4] == ("create", "fake-u1", "runsc", "none")  # no network asked: none
    assert (made[4].cpuset_cpus, made[4].cpuset_mems) == ("2,3", "0")
    assert runtime.calls[2] == ("put_archive", cid, "/", b"a tar")  # copied in before any start
