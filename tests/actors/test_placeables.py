"""Every kind placement places counts the same demand against its quota as it reserves on a host
(``runner.demand``): init containers at their peak, whatever the kind."""

from __future__ import annotations

import pytest

from actors import placeables
from runner.containers import Capsule, Container
from runner.demand import VM_OVERHEAD_MB
from runner.functions.model import FunctionSpec, Instance
from runner.models import CapsuleSpec, ContainerSpec, Job, Resources

APP = ContainerSpec("busybox", name="app", resources=Resources(cpu=0.5, memory_mb=64, disk_gb=1.0))
INIT = ContainerSpec("busybox", name="seed", resources=Resources(cpu=1.5, memory_mb=256))


def _requests(runtime: str) -> list[placeables.Request]:
    spec = CapsuleSpec(containers=(APP,), init_containers=(INIT,), runtime=runtime)
    return [
        placeables.from_job(Job(id="j", project_id="p", user_id="u", capsule=spec)),
        placeables.from_container(
            Container(
                uuid="c", name="c", project_id="p", user_id="u", capsule=spec, spec={"host": "h1"}
            )
        ),
        placeables.from_capsule(
            Capsule(uuid="k", name="k", project_id="p", user_id="u", capsule=spec)
        ),
    ]


@pytest.mark.parametrize("runtime", ["runc", "runsc"])
def test_every_kind_reserves_what_its_quota_counts(runtime):
    for req in _requests(runtime):
        assert req.quota == {"containers": 1, "cpu": 1.5, "memory": 256, "disk": 1.0}, req.kind
        assert (req.demand.cpu, req.demand.memory_mb, req.demand.disk_gb) == (1.5, 256, 1.0), (
            req.kind
        )
        assert req.demand.project_id == "p"


def test_vm_and_nova_are_the_only_divergence():
    for vm, nova in zip(_requests("vm"), _requests("nova")):
        assert vm.quota == nova.quota == {"containers": 1, "cpu": 1.5, "memory": 256, "disk": 1.0}
        assert (vm.demand.cpu, vm.demand.memory_mb) == (1.5, 256 + VM_OVERHEAD_MB)
        assert (nova.demand.cpu, nova.demand.memory_mb, nova.demand.disk_gb) == (0, 0, 0)


def test_a_zun_containers_requested_host_reaches_placement():
    assert [r.demand.host for r in _requests("runc")] == [None, "h1", None]


def test_a_function_instance_counts_and_reserves_its_resources():
    spec = FunctionSpec(
        image="python", handler="m:f", resources=Resources(cpu=0.25, memory_mb=96, pids=64)
    )
    req = placeables.from_instance(
        Instance(uuid="i", function_uuid="f", project_id="p", version=1, spec=spec)
    )
    assert req.quota == {"containers": 1, "cpu": 0.25, "memory": 96, "disk": 0.0}
    assert (req.demand.cpu, req.demand.memory_mb, req.demand.project_id) == (0.25, 96, "p")
