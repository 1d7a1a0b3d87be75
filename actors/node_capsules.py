"""The Zun-capsule half of a NodeActor: start a capsule all-or-nothing, follow
its containers, delete all of it.

A capsule always gets a sandbox (infra) container
that holds the network namespace; its init containers run in order to
completion, then the app containers start with the capsule's restart policy.
If any step fails, everything created so far (containers and volumes) is
removed and the capsule ends in Error with the reason.

A capsule with ``runtime: nova`` runs the same way on a Nova server's engine
(leased from the node's pool; members' ids are ``nova-<server>.<id>``).
A capsule with ``runtime: vm`` runs whole in one VM (``VmOps``, id
``vm-<uuid>``): Running once the guest booted, its members' states read from
the console, Error with the reason when an init container fails or the VM is
killed. VMs end with their node actor: after a restart a capsule whose restart
policy is not Never boots again; the others end in Error.
"""

from __future__ import annotations

import logging
import threading

from actors.node_host import HostContext
from actors.node_isolation import Isolation
from actors.node_metering import Metering, of_capsule
from actors.node_nova import NovaServersOfNode, nova_server_of
from runner.capsule_run import CapsuleRun
from runner.containers import DOCKER_STATES, Capsule, ContainerStatus
from runner.errors import NotFound, ZunrayError
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.nova import NovaRun
from runner.runtimes.registry import Runtimes
from runner.runtimes.vm_containers import PREFIX as VM_PREFIX
from runner.runtimes.vm_containers import VmOps

log = logging.getLogger(__name__)

#: Zun's capsule restart policy -> Docker's, for the app containers
_RESTART = {
    "always": {"Name": "always"},
    "on-failure": {"Name": "on-failure", "MaximumRetryCount": 10},
    "no": None,
}


class Capsules:
    """The Zun capsules placed on this node."""

    def __init__(
        self,
        host: HostContext,
        *,
        isolation: Isolation,
        metering: Metering,
        nova: NovaServersOfNode,
        vm_ops: VmOps,
        runtimes: Runtimes,
    ) -> None:
        self.host = host
        self.store = host.store
        self.runtime = host.runtime
        self.isolation = isolation
        self.metering = metering
        self.nova = nova  # the servers capsules with runtime nova run on
        self.vm_ops = vm_ops  # a capsule with runtime vm runs whole in one VM
        self.runtimes = runtimes

    def create(self, cap: Capsule) -> None:
        if cap.capsule.runtime == "vm":  # known at once: sync_capsules waits for its boot
            self.vm_ops.create(cap.uuid, cap.capsule, restart=cap.restart_policy)
        threading.Thread(
            target=self._create, args=(cap,), name=f"cap-{cap.uuid[:8]}", daemon=True
        ).start()

    def _capsule_run(self, cap: Capsule) -> CapsuleRun | NovaRun:
        runtime = self.runtimes.named(cap.capsule.runtime)
        run = runtime.new_run(capsule_id=cap.uuid, project=cap.project_id, spec=cap.capsule)
        if runtime.on_this_host:
            self.host.remove_stale_copies(cap.uuid)
            run.cpuset = self.isolation.cpuset_for(cap.uuid, cap.capsule)
        return run

    def _engine_of(self, cap: Capsule) -> tuple[DockerRuntime, str | None]:
        """The engine a capsule's containers are on (this host's, or its Nova server's) and that server."""
        server_id = nova_server_of(cap)
        return (
            (self.nova.pool().engine_for(server_id), server_id)
            if server_id
            else (self.runtime, None)
        )

    def _create(self, cap: Capsule) -> None:
        with self.host.object_lock(cap.uuid):
            try:
                self._start_capsule(cap)
            except Exception as exc:  # a bug must not leave the capsule Creating forever
                log.exception("creating capsule %s failed", cap.uuid)
                self.store.capsules.transition_capsule(
                    cap.uuid, ContainerStatus.ERROR, reason=f"internal error: {exc}"
                )

    def _start_capsule(self, cap: Capsule) -> None:
        if cap.capsule.runtime == "vm":
            self._boot_capsule(cap)
            return
        run = None
        try:
            run = self._capsule_run(cap)
            run.start(sandbox=True, restart_policy=_RESTART.get(cap.restart_policy))
        except ZunrayError as exc:
            self.isolation.release(cap.uuid)
            try:
                if run is not None:
                    run.remove()  # all or nothing: nothing of a failed capsule stays (nor its lease on a Nova server)
            except ZunrayError:
                log.exception("cannot clean up capsule %s", cap.uuid)
            self.store.capsules.transition_capsule(
                cap.uuid,
                ContainerStatus.ERROR,
                reason=exc.message,
                members=self._members(cap, {}, failed=True),
            )
            return
        self.store.capsules.transition_capsule(
            cap.uuid,
            ContainerStatus.RUNNING,
            reason="",
            members=self._members(cap, run.member_ids()),
        )

    def _boot_capsule(self, cap: Capsule) -> None:
        """The capsule's VM, booted; its containers then run inside on their own."""
        cid = f"{VM_PREFIX}{cap.uuid}"
        try:
            self.vm_ops.start(cid)
        except ZunrayError as exc:
            self.vm_ops.remove(cid)
            self.store.capsules.transition_capsule(
                cap.uuid,
                ContainerStatus.ERROR,
                reason=exc.message,
                members=self._members(cap, {}, failed=True),
            )
            return
        self.store.capsules.transition_capsule(
            cap.uuid,
            ContainerStatus.RUNNING,
            reason="",
            members=self._members(cap, dict.fromkeys(cap.members, cid)),
        )

    def _members(self, cap: Capsule, ids: dict[str, str], *, failed: bool = False) -> dict:
        """The members' stored view: their engine ids (container name -> id) and states."""
        members = dict(cap.members)
        for name, info in members.items():
            state = (
                ContainerStatus.ERROR
                if failed
                else (ContainerStatus.STOPPED if info.get("init") else ContainerStatus.RUNNING)
            )
            members[name] = {
                **info,
                "status": state.value,
                "container_id": None if failed else ids.get(name),
            }
        return members

    def delete(self, uuid: str) -> None:
        """Remove the capsule's containers and volumes, then forget it."""
        project = self.store.capsules.get_capsule(uuid).project_id
        with self.host.operation(
            project, uuid, wait_s=self.host.settings.node_call_timeout_s / 2
        ):  # creation may be pulling images
            self._remove_capsule(uuid)

    def _remove_capsule(self, uuid: str) -> None:
        cap = self.store.capsules.get_capsule(uuid)
        if cap.status is ContainerStatus.RUNNING:
            self.metering.end(
                **of_capsule(cap),
                status="Deleted",
            )
        self.store.capsules.transition_capsule(uuid, ContainerStatus.DELETING)
        self.vm_ops.remove(f"{VM_PREFIX}{uuid}")  # its VM, if it runs in one
        try:
            engine, server_id = self._engine_of(cap)
        except NotFound:  # its Nova server is gone already
            engine, server_id = None, None
        if engine is not None:
            CapsuleRun.adopt(
                engine,
                capsule_id=uuid,
                project=cap.project_id,
                spec=cap.capsule,
                found=engine.managed(capsule=uuid),
            ).remove()
        if server_id is not None:
            self.nova.pool().release(server_id, uuid)
        self.store.capsules.delete_capsule(uuid)
        self.isolation.release(uuid)
        self.host.finished(uuid, "capsule")

    def sync(self) -> None:
        """Follow the app containers' states (exits, restarts) into the capsule."""
        for cap in self.store.capsules.list_capsules(
            project_id=None,
            host=self.host.name,
            statuses=[ContainerStatus.RUNNING, ContainerStatus.STOPPED],
        ):
            if cap.capsule.runtime == "vm":
                self._sync_vm_capsule(cap)
                continue
            try:
                engine, _ = self._engine_of(cap)
                found = engine.managed(capsule=cap.uuid)
            except ZunrayError:
                log.exception("cannot follow capsule %s", cap.uuid)
                continue
            self._follow_apps(
                cap,
                {
                    c.labels.get("zunray.container"): c.state
                    for c in found
                    if c.labels.get("zunray.role") == "app"
                },
            )

    def _follow_apps(self, cap: Capsule, states: dict[str, str]) -> None:
        """The app containers' Docker-like states (name -> running/exited/...) into the capsule's members and status."""
        members = {
            name: {
                **info,
                "status": DOCKER_STATES.get(states.get(name, ""), ContainerStatus.UNKNOWN).value,
            }
            if not info.get("init")
            else info
            for name, info in cap.members.items()
        }
        running = all(
            m["status"] == ContainerStatus.RUNNING.value
            for m in members.values()
            if not m.get("init")
        )
        status = ContainerStatus.RUNNING if running else ContainerStatus.STOPPED
        if members != cap.members or status is not cap.status:
            self.store.capsules.transition_capsule(cap.uuid, status, members=members)

    def _sync_vm_capsule(self, cap: Capsule) -> None:
        cid = f"{VM_PREFIX}{cap.uuid}"
        try:
            states = self.vm_ops.app_states(cid)
            failure = self.vm_ops.failure(cid)
        except NotFound:
            return  # not booted by this node actor (yet): reconcile boots it again or ends it
        if states is None:
            return  # booting
        if failure is not None:
            if cap.status is not ContainerStatus.ERROR:
                members = {
                    name: {**info, "status": ContainerStatus.ERROR.value}
                    for name, info in cap.members.items()
                }
                self.store.capsules.transition_capsule(
                    cap.uuid, ContainerStatus.ERROR, reason=failure, members=members
                )
            return
        self._follow_apps(cap, states)

    def start(self, found_by_capsule: dict[str, list]) -> None:
        """After a restart: Zun capsules live on (``sync`` follows them): their containers are taken
        out of ``found_by_capsule``, a dedicated one's cpus pinned again. Then the VM capsules."""
        for cap in self.store.capsules.list_capsules(project_id=None, host=self.host.name):
            found_here = found_by_capsule.pop(cap.uuid, [])
            self.isolation.readopt_pins(
                cap.uuid,
                cap.capsule,
                [c.id for c in found_here if c.labels.get("zunray.role") == "app"],
            )
        self._reboot_vms()

    def _reboot_vms(self) -> None:
        """VM capsules that still ran something died with the previous node
        actor. Boot those whose restart policy asks for it again; end the others in Error
        (a capsule whose apps had all ended stays as it was)."""
        for cap in self.store.capsules.list_capsules(
            project_id=None,
            host=self.host.name,
            statuses=[ContainerStatus.CREATING, ContainerStatus.RUNNING, ContainerStatus.STOPPED],
        ):
            alive = cap.status is ContainerStatus.CREATING or any(
                m.get("status") == ContainerStatus.RUNNING.value
                for m in cap.members.values()
                if not m.get("init")
            )
            if cap.capsule.runtime != "vm" or not alive:
                continue
            if cap.restart_policy == "no":
                self.store.capsules.transition_capsule(
                    cap.uuid,
                    ContainerStatus.ERROR,
                    reason="its VM ended with the node actor's restart (restart policy Never)",
                )
            else:
                log.info("booting the VM of capsule %s again after a node actor restart", cap.uuid)
                self.create(cap)
