"""NodeActor: runs capsules on its host and keeps what they leave behind.

Owns: the capsules running on its host (jobs, Zun containers, Zun capsules,
function instances), the live logs, the Docker runtime, the VMs and this node's
Nova servers. Dies with: its Ray node. Ray restarts it; ``start()`` then finds its
containers by their labels and adopts them, or ends their jobs with a reason, so no
container leaks and no job hangs. It is a plain class; ``actors.bootstrap`` wraps
it with ``ray.remote``.

It is thin: each kind of work is a service given its dependencies (``HostContext``
and the services it uses) in its constructor, which does no I/O. ``start()`` does
what touches Docker, /sys and the network. The methods below are what other actors
call remotely; each delegates to one service.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import requests
from docker.errors import DockerException

from actors.node_capsules import Capsules
from actors.node_container_actions import ContainerActions
from actors.node_containers import Containers
from actors.node_functions import FunctionInstances
from actors.node_host import HostContext
from actors.node_isolation import Isolation
from actors.node_jobs import Jobs
from actors.node_metering import Metering
from actors.node_nova import NovaServersOfNode
from actors.node_shells import Shells
from runner.containers import Capsule, Container
from runner.cpus import numa_nodes
from runner.errors import Unavailable
from runner.functions import wire
from runner.functions.model import Instance
from runner.log_tail import LogRead
from runner.models import Job
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.data_root import data_root_disk_gb
from runner.runtimes.hugetlbfs import hugepages_inventory
from runner.runtimes.egress import Firewall, host_resolvers
from runner.runtimes.networks import ProjectNetworks
from runner.runtimes.registry import DockerContainers, NovaContainers, Runtimes, VmContainers
from runner.runtimes.vm import VmRuntime
from runner.runtimes.vm_containers import VmOps
from runner.settings import Settings
from runner.store import Store

log = logging.getLogger(__name__)


class NodeActor:
    """One per host: runs the jobs, Zun containers, capsules and function instances placed on it."""

    def __init__(
        self,
        *,
        name: str,
        store: Store,
        runtime: DockerRuntime,
        settings: Settings,
        finished: Callable[..., None],
        instance_changed: Callable[[str], None] = lambda uuid: None,
        host_addresses: Callable[[], list[str]] = list,
    ) -> None:
        host = self.host = HostContext(
            name=name, store=store, runtime=runtime, settings=settings, finished=finished
        )
        firewall = Firewall(
            runtime.instance, blocked=settings.blocked_egress_cidrs, resolvers=host_resolvers()
        )
        self.networks = ProjectNetworks(
            runtime, firewall, hosts=host_addresses
        )  # host_addresses: the cluster's hosts
        self.vm = VmRuntime(
            docker=runtime,
            kernel=settings.vm_kernel,
            cache_dir=settings.data_dir / "vm-images",
            run_dir=settings.data_dir / "vm-runs" / name,
            accel=settings.vm_accel,
            boot_timeout_s=settings.vm_boot_timeout_s,
            cache_max_mb=settings.vm_image_cache_mb,
        )
        vm_ops = VmOps(self.vm)  # the VMs of Zun containers and capsules with runtime vm
        self.isolation = Isolation(host, cpu_topology=numa_nodes)
        self.metering = Metering(host)
        self.nova = NovaServersOfNode(host)
        runtimes = Runtimes(
            DockerContainers(runtime, self.networks),
            VmContainers(self.vm, vm_ops),
            NovaContainers(runtime, self.nova.pool),
        )
        self.jobs = Jobs(host, isolation=self.isolation, metering=self.metering, runtimes=runtimes)
        self.containers = Containers(
            host, isolation=self.isolation, metering=self.metering, runtimes=runtimes
        )
        self.container_actions = ContainerActions(self.containers)
        self.shells = Shells(self.containers)
        self.capsules = Capsules(
            host,
            isolation=self.isolation,
            metering=self.metering,
            nova=self.nova,
            vm_ops=vm_ops,
            runtimes=runtimes,
        )
        self.functions = FunctionInstances(
            host,
            isolation=self.isolation,
            metering=self.metering,
            instance_changed=instance_changed,
        )
        self._inventory: dict | None = None  # the engine's, asked once

    # -- start ------------------------------------------------------------
    def start(self) -> None:
        """Start the services, then adopt this host's containers and end jobs whose containers are gone."""
        self.vm.start()
        self.isolation.start()
        self.nova.start()  # its servers do not need this host's engine
        self.recheck_networks()  # before adopting: containers on project networks run again fenced
        runtime = self.host.runtime
        try:
            found = runtime.managed(node=self.host.name)
        except Unavailable:
            log.warning("Docker unreachable at start; reconciliation postponed")
            return
        self.isolation.hugepages.clean_stale(
            {c.labels.get("zunray.capsule", "") for c in found}
        )  # mounts whose capsule has no container left
        by_capsule: dict[str, list] = defaultdict(list)
        for c in found:
            by_capsule[c.labels.get("zunray.capsule", "")].append(c)
        # each service takes its own containers out of by_capsule
        self.capsules.start(by_capsule)
        self.containers.start(by_capsule)
        self.jobs.start(by_capsule)
        self.functions.start(by_capsule)
        self.container_actions.adopt_after_restart()
        for (
            capsule_id,
            leftovers,
        ) in by_capsule.items():  # containers of jobs that ended or vanished
            for c in leftovers:
                runtime.remove(c.id)
            self.isolation.hugepages.release(capsule_id)
        runtime.adopt_secret_files()

    def recheck_networks(self) -> None:
        """Project networks' firewall rules as they should be (missing after a reboot or a firewall reload)."""
        try:
            self.networks.recheck()
        except (Unavailable, DockerException, requests.exceptions.RequestException) as exc:
            log.error("the egress rules of project networks could not be checked: %s", exc)

    # -- reports ----------------------------------------------------------
    def report(self) -> dict:
        """Inventory and health, sent to placement as a heartbeat."""
        runtime, pinning = self.host.runtime, self.isolation.pinning
        try:
            if self._inventory is None:
                self._inventory = runtime.inventory()
            else:
                runtime.ping()
            docker_ok, error = True, ""
        except Unavailable as exc:
            docker_ok, error = False, exc.message
        inv = dict(self._inventory or {"cpus": 0, "memory_mb": 0, "runtimes": []})
        if self.vm.available():  # QEMU and the kernel are here: placement may send VM capsules
            inv["runtimes"] = [*inv["runtimes"], "vm"]
            inv["vm_accel"] = self.vm.accel
        if self.nova.available:
            inv["runtimes"] = [*inv["runtimes"], "nova"]
        # read each time: images and containers fill the disk between reports
        inv["disk_total_gb"], inv["disk_used_gb"] = data_root_disk_gb(inv.get("data_root", ""))
        return {
            "name": self.host.name,
            "pid": os.getpid(),  # the node actor's process (operators; the partition test)
            **inv,
            "docker_ok": docker_ok,
            "docker_error": error,
            "running": self.jobs.running(),
            "labels": dict(self.host.settings.node_labels),
            "dedicated_free": pinning.dedicated_free(),
            "hugepages": hugepages_inventory(),  # read each time: operators change it live
            "containers_created": dict(runtime.created),
            "pinned_cpus": pinning.pinned_cpus(),
        }

    # -- jobs (placement, the gateway, the API actor) ----------------------
    def run(self, job: Job) -> None:
        """Start a placed job in the background; returns at once."""
        self.jobs.run(job)

    def cancel(self, job_id: str) -> None:
        self.jobs.cancel(job_id)

    def logs(self, job_id: str) -> bytes:
        return self.jobs.logs(job_id)

    def read_logs(self, job_id: str, offset: int) -> LogRead:
        return self.jobs.read_logs(job_id, offset)

    # -- Zun containers and capsules (placement, the gateway) --------------
    def create_container(self, c: Container) -> None:
        """Create (and with ``run`` start) a placed container; returns at once."""
        self.containers.create(c)

    def container_action(self, uuid: str, action: str, params: dict[str, Any]) -> Any:
        """One Zun action (``node_container_actions.ACTIONS``) on a container of this host; its result."""
        return self.container_actions.run(uuid, action, params)

    def shell_action(self, uuid: str, action: str, params: dict[str, Any]) -> Any:
        """``exec``/``attach`` (a one-time token for the websocket) or a TTY resize (``node_shells``)."""
        return self.shells.run(uuid, action, params)

    def shell_open(self, uuid: str, token: str, exec_id: str | None) -> str:
        return self.shells.open(uuid, token, exec_id)

    def shell_read(self, sid: str, wait_s: float) -> tuple[bytes, str | None]:
        return self.shells.read(sid, wait_s)

    def shell_write(self, sid: str, data: bytes) -> None:
        self.shells.write(sid, data)

    def shell_close(self, sid: str) -> None:
        self.shells.close(sid)

    def create_capsule(self, cap: Capsule) -> None:
        self.capsules.create(cap)

    def delete_capsule(self, uuid: str) -> None:
        self.capsules.delete(uuid)

    # -- function instances (placement, the function actor) ----------------
    def start_instance(self, inst: Instance) -> None:
        self.functions.start_instance(inst)

    def stop_instance(self, uuid: str) -> None:
        self.functions.stop_instance(uuid)

    def invoke_instance(
        self, uuid: str, header: dict, payload: bytes, timeout_s: float
    ) -> wire.Reply:
        return self.functions.invoke_instance(uuid, header, payload, timeout_s)

    def instance_logs(self, uuid: str) -> bytes:
        return self.functions.instance_logs(uuid)
