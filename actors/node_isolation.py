"""What keeps a capsule's cpus and huge pages its own on a NodeActor's host.

Dedicated means dedicated: when a capsule pins cpus, every shared container of
this node already on the host (jobs, Zun containers, capsules, function
instances) is moved off them, and spread back over every unpinned cpu when the
pin ends (``runner.cpus`` decides which move where; this applies it with
``docker update``). A timer repeats the spread, so a shared container created
while a pin began is moved too. A capsule asking for huge pages gets a
hugetlbfs of its own (``runner.runtimes.hugetlbfs``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from actors.node_host import HostContext
from runner.capsule_run import CapsuleRun
from runner.cpus import CpuPinning
from runner.errors import ZunrayError
from runner.models import CapsuleSpec
from runner.runtimes.docker_live import ContainerOps
from runner.runtimes.hugetlbfs import HugePageMounts

log = logging.getLogger(__name__)


class Isolation:
    """Pinned cpus kept free of shared work; per-capsule hugetlbfs mounts."""

    def __init__(
        self, host: HostContext, *, cpu_topology: Callable[[], dict[int, list[int]]]
    ) -> None:
        self.host = host
        self.cpu_topology = cpu_topology  # NUMA node -> its cpus (``runner.cpus.numa_nodes`` reads /sys): read by start()
        self.pinning = CpuPinning(
            {}, reserved_shared=host.settings.reserved_shared_cpus
        )  # no cpus until start()
        self.hugepages = HugePageMounts(host.settings.data_dir / "hugepages" / host.name)
        self._spread_lock = threading.Lock()  # one spread at a time: the last one applied wins
        self._cpusets: dict[
            str, str
        ] = {}  # container id -> CpusetCpus as last seen or set (one inspect per container)

    def start(self) -> None:
        """Learn this host's cpus."""
        self.pinning = CpuPinning(
            self.cpu_topology(), reserved_shared=self.host.settings.reserved_shared_cpus
        )

    def cpuset_for(self, obj_id: str, capsule: CapsuleSpec) -> tuple[str | None, str | None]:
        """Pinned cpus for a dedicated capsule (job, Zun container or capsule), else the cpus nobody pinned."""
        if capsule.cpu_policy == "dedicated":
            cpus = self.pinning.pin(obj_id, int(capsule.demand().cpu))
            self.spread_shared_cpus()  # every shared container off them before the capsule starts
            return cpus
        return self.pinning.shared_cpuset(), None

    def readopt_pins(self, obj_id: str, capsule: CapsuleSpec, container_ids: list[str]) -> None:
        """After a restart: a dedicated capsule's cpus are pinned again to it, as Docker has them."""
        if capsule.cpu_policy != "dedicated" or not container_ids:
            return
        try:
            cpuset = (
                ContainerOps(self.host.runtime)
                .inspect(container_ids[0])["HostConfig"]
                .get("CpusetCpus")
                or ""
            )
        except ZunrayError:
            return
        self.pinning.adopt(obj_id, cpuset)

    def mount_hugepages(self, obj_id: str, run: CapsuleRun) -> None:
        """Mount the capsule's own hugetlbfs, if it asks for huge pages, and bind it into its app containers."""
        demand = run.spec.demand()
        if demand.hugepages_2m_pages or demand.hugepages_1g_pages:
            run.host_binds = [*run.host_binds, *self.hugepages.mount(obj_id, demand)]

    def release(self, obj_id: str) -> None:
        """A capsule ended: its pinned cpus go back to shared work, its hugetlbfs goes."""
        if self.pinning.release(obj_id):
            self.spread_shared_cpus()
        self.hugepages.release(obj_id)

    def spread_shared_cpus(self) -> None:
        """Move this node's shared containers onto exactly the cpus nobody pinned (timer, and at each pin and release)."""
        runtime = self.host.runtime
        with self._spread_lock:
            try:
                found = runtime.managed(node=self.host.name)
            except ZunrayError as exc:
                log.warning("cannot list containers to spread shared cpus: %s", exc.message)
                return
            present = {c.id for c in found}
            self._cpusets = {cid: cpus for cid, cpus in self._cpusets.items() if cid in present}
            now = {}
            for c in found:
                if c.id not in self._cpusets:
                    try:
                        self._cpusets[c.id] = (
                            ContainerOps(runtime).inspect(c.id)["HostConfig"].get("CpusetCpus")
                            or ""
                        )
                    except ZunrayError:
                        continue  # removed since the listing
                now[c.id] = (c.labels.get("zunray.capsule", ""), self._cpusets[c.id])
            for cid, cpus in self.pinning.shared_moves(now).items():
                try:
                    runtime.update_cpuset(cid, cpus)
                    self._cpusets[cid] = cpus
                except ZunrayError as exc:  # removed meanwhile, or being removed
                    log.info("cannot move container %s to cpus %s: %s", cid[:12], cpus, exc.message)
