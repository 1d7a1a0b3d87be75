"""Which runtime runs a capsule, and which one operates a Zun container: one registry.

A capsule's ``runtime`` names how it runs: ``vm`` in a QEMU VM of this host, ``nova``
on a Nova server's engine, any other name (``runc``, ``runsc``, ...) as an OCI runtime
of this host's Docker engine. A Zun container's id says where it lives (``vm-<uuid>``,
``nova-<server>.<id>``, else a Docker id). ``Runtimes.named`` and ``Runtimes.ops`` are
where they are told apart; the node actor asks them instead of branching on a name or
an id's prefix. Building any of these does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from runner.capsule_run import CapsuleRun
from runner.models import CapsuleSpec
from runner.runtimes.docker import LABEL, DockerRuntime
from runner.runtimes.docker_types import LongRunning
from runner.runtimes.docker_live import ContainerOps
from runner.runtimes.networks import ProjectNetworks
from runner.runtimes.nova import NovaRun
from runner.runtimes.nova_containers import PREFIX as NOVA_PREFIX
from runner.runtimes.nova_containers import NovaOps
from runner.runtimes.nova_pool import ServerPool
from runner.runtimes.vm import VmRun, VmRuntime
from runner.runtimes.vm_containers import PREFIX as VM_PREFIX
from runner.runtimes.vm_containers import VmOps


@dataclass(frozen=True)
class NewContainer:
    """A Zun container to create, as every runtime is given it (each takes what it uses)."""

    uuid: str
    project: str
    capsule: (
        CapsuleSpec  # its one container (image resolved through its registry), runtime, network
    )
    name: str  # on the engine
    labels: dict[str, str]
    long_running: LongRunning  # restart policy, healthcheck, volumes, ...
    cpuset: tuple[str | None, str | None] = (None, None)  # (cpus, NUMA nodes) on this host
    volumes: tuple[str, ...] = ()  # named volumes, made (labelled per project) before the container
    restart: str = "no"  # the restart policy as a VM's guest applies it: no, on-failure or always
    files: bytes | None = (
        None  # a tar of the files Zun's bind mounts carry, copied in before the start
    )


class Runtime(Protocol):
    """What runs capsules and operates Zun containers of one kind."""

    name: str  # what a capsule's ``runtime`` says ("" for the default)
    prefix: str  # how its Zun containers' ids begin ("" for the default)
    on_this_host: bool  # its capsules run on this host's engine and cpus (not on a Nova server)

    def new_run(self, *, capsule_id: str, project: str, spec: CapsuleSpec, attempt: int = 0) -> Any:
        """A run of a whole capsule: ``CapsuleRun``'s interface (jobs, capsules)."""

    def create_container(self, req: NewContainer) -> str:
        """Create a Zun container (not started); its id."""

    def ops(self, cid: str) -> Any:
        """Operations on one of its Zun containers (``ContainerOps``' interface), by id."""

    def remove_container(self, cid: str, *, holder: str) -> None:
        """Remove a Zun container (``holder``: its uuid)."""

    def adopt_container(
        self, uuid: str, cid: str, spec: CapsuleSpec, *, restart: str, running: bool
    ) -> bool:
        """After a node actor restart: know a Zun container again; True if it died with the last actor."""


class DockerContainers:
    """runc, runsc and any other OCI runtime of this host's Docker engine."""

    name = ""
    prefix = ""
    on_this_host = True

    def __init__(self, docker: DockerRuntime, networks: ProjectNetworks) -> None:
        self.docker = docker
        self.networks = networks

    def new_run(
        self, *, capsule_id: str, project: str, spec: CapsuleSpec, attempt: int = 0
    ) -> CapsuleRun:
        return CapsuleRun(
            self.docker,
            capsule_id=capsule_id,
            project=project,
            spec=spec,
            networks=self.networks,
            attempt=attempt,
        )

    def create_container(self, req: NewContainer) -> str:
        for volume in (
            req.volumes
        ):  # labelled, so that they can be found per project (Docker would make them bare)
            self.docker.create_volume(
                volume,
                labels={f"{LABEL}.instance": self.docker.instance, f"{LABEL}.project": req.project},
            )
        cpus, mems = req.cpuset
        cid = self.docker.create(
            req.capsule.containers[0],
            name=req.name,
            labels=req.labels,
            runtime=req.capsule.runtime,
            network_mode=self.networks.resolve(req.capsule.network, req.project),
            long_running=replace(req.long_running, cpuset_cpus=cpus or None, cpuset_mems=mems),
        )
        if req.files:
            self.ops(cid).put_archive(cid, "/", req.files)
        return cid

    def ops(self, cid: str) -> ContainerOps:
        return ContainerOps(self.docker)

    def remove_container(self, cid: str, *, holder: str) -> None:
        self.docker.remove(cid)

    def adopt_container(
        self, uuid: str, cid: str, spec: CapsuleSpec, *, restart: str, running: bool
    ) -> bool:
        return False  # it lives on in the engine


class VmContainers:
    """``runtime: vm``: a capsule in a QEMU VM of this host; a Zun container's VM is ``vm-<uuid>``."""

    name = "vm"
    prefix = VM_PREFIX
    on_this_host = True

    def __init__(self, vm: VmRuntime, vm_ops: VmOps) -> None:
        self.vm = vm
        self.vm_ops = vm_ops

    def new_run(
        self, *, capsule_id: str, project: str, spec: CapsuleSpec, attempt: int = 0
    ) -> VmRun:
        return VmRun(self.vm, capsule_id=capsule_id, spec=spec, attempt=attempt)

    def create_container(self, req: NewContainer) -> str:
        # req.files are not copied: a VM takes no archive (VmOps refuses put_archive)
        return self.vm_ops.create(req.uuid, req.capsule, restart=req.restart)

    def ops(self, cid: str) -> VmOps:
        return self.vm_ops

    def remove_container(self, cid: str, *, holder: str) -> None:
        self.vm_ops.remove(cid)

    def adopt_container(
        self, uuid: str, cid: str, spec: CapsuleSpec, *, restart: str, running: bool
    ) -> bool:
        self.vm_ops.create(
            uuid, spec, restart=restart, lost=running
        )  # VMs end with their node actor
        return True


class NovaContainers:
    """``runtime: nova``: capsules and Zun containers on a Nova server's engine, leased from the node's pool."""

    name = "nova"
    prefix = NOVA_PREFIX
    on_this_host = False

    def __init__(self, local: DockerRuntime, pool: Callable[[], ServerPool]) -> None:
        self.local = local  # where images come from
        self.pool = pool  # the node's pool; raises Unavailable where the host has no Nova endpoint

    def new_run(
        self, *, capsule_id: str, project: str, spec: CapsuleSpec, attempt: int = 0
    ) -> NovaRun:
        return NovaRun(
            self.pool(),
            self.local,
            capsule_id=capsule_id,
            project=project,
            spec=spec,
            attempt=attempt,
        )

    def create_container(self, req: NewContainer) -> str:
        ops = NovaOps(self.pool(), self.local)
        cid = ops.create(
            req.uuid,
            req.project,
            req.capsule.containers[0],
            name=req.name,
            labels=req.labels,
            long_running=req.long_running,
        )
        if req.files:
            ops.put_archive(cid, "/", req.files)
        return cid

    def ops(self, cid: str) -> NovaOps:
        return NovaOps(self.pool(), self.local)

    def remove_container(self, cid: str, *, holder: str) -> None:
        self.ops(cid).remove(cid, holder=holder)

    def adopt_container(
        self, uuid: str, cid: str, spec: CapsuleSpec, *, restart: str, running: bool
    ) -> bool:
        return False  # the pool takes its servers back (``ServerPool.adopt``)


class Runtimes:
    """The runtimes of one host: by a capsule's ``runtime``, or by a Zun container's id."""

    def __init__(self, default: Runtime, *others: Runtime) -> None:
        self.default = default  # any name the others do not claim: Docker's OCI runtimes
        self.others = others

    def named(self, name: str) -> Runtime:
        return next((r for r in self.others if r.name == name), self.default)

    def of_container(self, cid: str) -> Runtime:
        return next((r for r in self.others if cid.startswith(r.prefix)), self.default)

    def ops(self, cid: str) -> Any:
        """Operations on a Zun container's Docker container, VM or container on a Nova server, by its id."""
        return self.of_container(cid).ops(cid)
