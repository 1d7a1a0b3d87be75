"""After a Zun container is resized, placement's claim on its host is the new size: what it
frees takes new work at once, what it adds is not offered to others."""

from __future__ import annotations

from actors.placement import PlacementActor
from runner.containers import Container, ContainerStatus
from runner.models import CapsuleSpec, ContainerSpec, Resources
from runner.settings import Settings

LIMITS = {"containers": 10, "cpu": 20, "memory": 51200, "disk": 100}


def _spec(cpu: float) -> CapsuleSpec:
    return CapsuleSpec(
        containers=(ContainerSpec("busybox", resources=Resources(cpu=cpu, memory_mb=64)),)
    )


def test_the_claim_follows_a_resize(sqlite_store, tmp_path):
    actor = PlacementActor(
        store=sqlite_store,
        settings=Settings(data_dir=tmp_path, cpu_allocation_ratio=1.0),
        dispatch=lambda kind, host, rec: None,
        cancel=lambda host, job_id: None,
    )
    actor.heartbeat(
        {"name": "h1", "cpus": 4, "memory_mb": 8192, "runtimes": ["runc"], "docker_ok": True}
    )
    c = Container(uuid="c1", name="c1", project_id="p", user_id="u", capsule=_spec(1))
    sqlite_store.containers.create_container(c)
    actor.submit("c1", kind="container")

    def cpu_used() -> float:
        [host] = actor.health()["hosts"]
        return host["cpu_used"]

    assert cpu_used() == 1
    sqlite_store.containers.transition_container("c1", ContainerStatus.RUNNING)
    sqlite_store.containers.resize_container("c1", cpu=3, memory_mb=None, limits=LIMITS)
    actor.resized("c1")
    assert cpu_used() == 3
    waiting = Container(uuid="c2", name="c2", project_id="p", user_id="u", capsule=_spec(2))
    sqlite_store.containers.create_container(waiting)
    actor.submit("c2", kind="container")
    assert sqlite_store.containers.get_container("c2").host is None  # 3 of 4 cpus claimed
    sqlite_store.containers.resize_container("c1", cpu=2, memory_mb=None, limits=LIMITS)
    actor.resized("c1")  # the freed cpu places the waiting container at once
    assert sqlite_store.containers.get_container("c2").host == "h1" and cpu_used() == 4
    sqlite_store.containers.delete_container("c1")
    actor.resized("c1")  # deleted meanwhile: its claim goes
    assert cpu_used() == 2
