"""A capsule's demand, for its project's quota and for placement, from one function.

Both start from ``CapsuleSpec.demand()`` (app containers together, init
containers at their peak), whatever the kind (job, Zun container, capsule,
function instance). They differ only where a host's view differs from the
project's, on purpose:

- ``runtime: vm`` — placement reserves ``VM_OVERHEAD_MB`` more memory on the
  host (what QEMU holds beyond the guest); the quota counts what was asked.
- ``runtime: nova`` — the capsule runs on a Nova server: placement reserves no
  cpu, memory or disk on the host; the quota still counts all of it.

The gateway's early refusal of a capsule larger than any host
(``gateway/cluster.py``) compares ``host_memory_mb``, the host's view, too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies import Demand
from runner.models import CapsuleSpec, Resources

#: what a VM's QEMU (TCG) holds beyond the memory asked for (99 MiB measured, benchmarks/RESULTS.md)
VM_OVERHEAD_MB = 112


def quota_demand(capsule: CapsuleSpec) -> dict[str, float]:
    """What a capsule counts against its project's quota (``policies.quota.RESOURCES``)."""
    peak = capsule.demand()
    return {
        "containers": len(capsule.containers),
        "cpu": peak.cpu,
        "memory": peak.memory_mb,
        "disk": peak.disk_gb,
    }


def host_memory_mb(memory_mb: float, runtime: str) -> float:
    """The memory of a host that a capsule asking ``memory_mb`` takes: with QEMU's on a VM, none on Nova."""
    if runtime == "nova":
        return 0.0
    return memory_mb + (VM_OVERHEAD_MB if runtime == "vm" else 0)


def placement_demand(
    capsule: CapsuleSpec,
    *,
    project_id: str,
    hints: Mapping[str, Any] | None = None,
    host: str | None = None,
) -> Demand:
    """What placement reserves for a capsule on a host, with its placement constraints.

    ``hints`` are a Zun container's scheduler hints (``{"label:k": "v"}`` or
    ``{"x": "label:k=v"}`` ask for a host labelled k=v); ``host`` a requested host.
    """
    d = capsule.demand()
    if capsule.runtime == "nova":  # a Nova server, not the host, runs it
        d = Resources(cpu=0.0, memory_mb=0, disk_gb=0.0, pids=d.pids)
    hints = hints or {}
    labels = tuple(
        tuple(h.removeprefix("label:").split("=", 1))
        for h in hints.values()
        if isinstance(h, str) and h.startswith("label:") and "=" in h
    )
    labels += tuple(
        (k.removeprefix("label:"), str(v)) for k, v in hints.items() if k.startswith("label:")
    )
    return Demand(
        cpu=d.cpu,
        memory_mb=host_memory_mb(d.memory_mb, capsule.runtime),
        disk_gb=d.disk_gb,
        runtime=capsule.runtime,
        host=host,
        labels=labels,
        dedicated=capsule.cpu_policy == "dedicated",
        hugepages_2m=d.hugepages_2m_pages,
        hugepages_1g=d.hugepages_1g_pages,
        labels_of_capsule=tuple(sorted(capsule.labels.items())),
        affinity=capsule.affinity,
        anti_affinity=capsule.anti_affinity,
        project_id=project_id,
        zone=capsule.availability_zone,
    )
