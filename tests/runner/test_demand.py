"""One demand: quotas and placement read a capsule's resources from ``CapsuleSpec.demand()``;
the VM overhead and Nova's zero host charge are the only differences."""

from __future__ import annotations

import pytest

from runner.demand import VM_OVERHEAD_MB, placement_demand, quota_demand
from runner.models import CapsuleSpec, ContainerSpec, Resources


def _capsule(runtime="runc", **kw) -> CapsuleSpec:
    apps = (
        ContainerSpec("a", name="a", resources=Resources(cpu=0.5, memory_mb=64, disk_gb=1.0)),
        ContainerSpec("b", name="b", resources=Resources(cpu=0.25, memory_mb=32, disk_gb=0.5)),
    )
    init = (
        ContainerSpec(
            "i",
            name="seed",
            resources=Resources(cpu=2.0, memory_mb=512, disk_gb=0.0, hugepages_2m_pages=4),
        ),
    )
    return CapsuleSpec(containers=apps, init_containers=init, runtime=runtime, **kw)


def test_the_init_peak_counts_for_the_quota_and_for_placement():
    cap = _capsule()
    quota, demand = quota_demand(cap), placement_demand(cap, project_id="p")
    # apps together: 0.75 cpu, 96 MB, 1.5 GB; the init container alone: 2 cpu, 512 MB
    assert quota == {"containers": 2, "cpu": 2.0, "memory": 512, "disk": 1.5}
    assert (demand.cpu, demand.memory_mb, demand.disk_gb, demand.hugepages_2m) == (2.0, 512, 1.5, 4)


@pytest.mark.parametrize("runtime", ["runc", "runsc"])
def test_containers_on_the_host_reserve_what_the_quota_counts(runtime):
    cap = _capsule(runtime)
    quota, demand = quota_demand(cap), placement_demand(cap, project_id="p")
    assert (demand.cpu, demand.memory_mb, demand.disk_gb) == (
        quota["cpu"],
        quota["memory"],
        quota["disk"],
    )


def test_a_vm_reserves_qemus_memory_on_the_host_but_the_quota_counts_what_was_asked():
    cap = _capsule("vm")
    quota, demand = quota_demand(cap), placement_demand(cap, project_id="p")
    assert demand.memory_mb == quota["memory"] + VM_OVERHEAD_MB
    assert (demand.cpu, demand.disk_gb) == (quota["cpu"], quota["disk"])


def test_nova_charges_the_host_nothing_and_the_quota_everything():
    cap = _capsule("nova")
    quota, demand = quota_demand(cap), placement_demand(cap, project_id="p")
    assert (demand.cpu, demand.memory_mb, demand.disk_gb, demand.hugepages_2m) == (0, 0, 0, 0)
    assert quota == quota_demand(_capsule("runc"))


def test_placement_constraints_come_along():
    cap = _capsule(
        cpu_policy="dedicated",
        labels={"app": "db"},
        affinity=(("tier", "web"),),
        anti_affinity=(("app", "db"),),
    )
    demand = placement_demand(
        cap,
        project_id="p1",
        hints={"label:zone": "a", "x": "label:rack=r1", "y": "other"},
        host="h2",
    )
    assert (
        demand.dedicated
        and demand.host == "h2"
        and demand.project_id == "p1"
        and demand.runtime == "runc"
    )
    assert sorted(demand.labels) == [("rack", "r1"), ("zone", "a")]
    assert demand.labels_of_capsule == (("app", "db"),)
    assert (demand.affinity, demand.anti_affinity) == ((("tier", "web"),), (("app", "db"),))
