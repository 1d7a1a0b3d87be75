"""The gateway refuses at once what no host could hold, by the memory placement would reserve on a
host (``runner.demand.host_memory_mb``): a VM's overhead counts, a Nova server's memory does not."""

from __future__ import annotations

import pytest

from gateway.cluster import Cluster
from runner.demand import VM_OVERHEAD_MB
from runner.errors import InvalidSpec
from runner.settings import Settings


@pytest.fixture
def cluster(tmp_path) -> Cluster:
    c = Cluster(Settings(data_dir=tmp_path, memory_allocation_ratio=1.0))
    c.health = {
        "hosts": [
            {"name": "h1", "up": True, "docker_ok": True, "docker_error": "", "memory_mb": 1024.0}
        ]
    }
    return c


@pytest.mark.parametrize("runtime", ["runc", "runsc", "vm"])
def test_what_fits_the_largest_host_is_admitted(cluster, runtime):
    cluster.admit(
        1024 - (VM_OVERHEAD_MB if runtime == "vm" else 0), runtime=runtime, field="memory"
    )


def test_a_vm_that_fits_only_without_its_overhead_is_refused_saying_so(cluster):
    with pytest.raises(
        InvalidSpec,
        match=rf"1000 MB \({VM_OVERHEAD_MB} MB more for the VM\) is more than the largest host has \(1024 MB\)",
    ):
        cluster.admit(1000, runtime="vm", field="memory")


def test_a_nova_capsule_larger_than_any_host_is_admitted(cluster):
    cluster.admit(
        8192, runtime="nova", field="memory"
    )  # it runs on a Nova server, not on these hosts
    with pytest.raises(InvalidSpec, match="8192 MB is more than the largest host has"):
        cluster.admit(8192, runtime="runc", field="memory")
