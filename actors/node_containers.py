"""The Zun-container half of a NodeActor: create, act on, watch and delete
long-running containers placed on this host.

A mixin of ``NodeActor`` (it uses its store, runtime, name and ``finished``
callback). Status always follows what Docker reports after each operation, and
a periodic ``sync_containers`` catches changes Docker makes by itself (a
process that exits, a restart policy at work, auto-remove).
"""

from __future__ import annotations

import base64
import io
import logging
import tarfile
import threading
import time
from dataclasses import replace
from typing import Any

from runner.containers import DOCKER_STATES, Container, ContainerStatus
from runner.errors import Forbidden, InvalidSpec, NotFound, ZunrayError
from runner.images.glance import GlanceImages
from runner.mounts import docker_binds
from runner.runtimes.docker import LABEL, LongRunning
from runner.runtimes.docker_live import ContainerOps
from runner.runtimes.nova_containers import NovaOps
from runner.runtimes.nova_containers import PREFIX as NOVA_PREFIX
from runner.runtimes.vm_containers import PREFIX as VM_PREFIX
from runner.secrets import SecretBox
from runner.store.images import COMMIT

log = logging.getLogger(__name__)

CONTAINER_ROLE = "container"
DEFAULT_STOP_TIMEOUT_S = 10


def _restart_policy(spec: dict) -> dict | None:
    policy = spec.get("restart_policy") or {}
    name = policy.get("Name") or policy.get("name")
    if not name or name == "no":
        return None
    out = {"Name": name}
    if name == "on-failure":
        out["MaximumRetryCount"] = int(policy.get("MaximumRetryCount") or 0)
    return out


def _vm_restart(spec: dict) -> str:
    """A Zun container's restart policy as the guest applies it to its command: no, on-failure or always."""
    name = (_restart_policy(spec) or {}).get("Name", "no")
    return "always" if name in ("always", "unless-stopped") else name


def long_running_options(c: Container, *, instance: str) -> LongRunning:
    spec = c.spec
    entrypoint = spec.get("entrypoint")
    if isinstance(entrypoint, str):
        entrypoint = entrypoint.split()
    volumes, _ = docker_binds(spec.get("mounts") or [], instance=instance, project_id=c.project_id)
    healthcheck = None
    if hc := spec.get("healthcheck"):
        seconds = 1_000_000_000
        healthcheck = {
            "Test": ["CMD-SHELL", hc["test"]] if isinstance(hc.get("test"), str) else hc.get("test"),
            "Interval": int(hc.get("interval") or 0) * seconds,
            "Timeout": int(hc.get("timeout") or 0) * seconds,
            "Retries": int(hc.get("retries") or 0),
        }
    return LongRunning(
        restart_policy=_restart_policy(spec),
        auto_remove=bool(spec.get("auto_remove")),
        entrypoint=entrypoint or None,
        hostname=spec.get("hostname"),
        tty=bool(spec.get("tty")),
        interactive=bool(spec.get("interactive")),
        privileged=bool(spec.get("privileged")),
        user_labels={str(k): str(v) for k, v in (spec.get("labels") or {}).items()},
        healthcheck=healthcheck,
        volumes=volumes or None,
    )


class OpsRouter:
    """One interface for a Zun container's operations: ContainerOps for Docker containers
    on this host, VmOps for ``vm-`` ids, NovaOps for ``nova-`` ids."""

    def __init__(self, docker_ops: ContainerOps, by_prefix: dict[str, Any]) -> None:
        self.docker_ops = docker_ops
        self.by_prefix = by_prefix

    def __getattr__(self, op: str) -> Any:
        def route(cid: str, *args: Any, **kwargs: Any) -> Any:
            target = next((ops for prefix, ops in self.by_prefix.items() if cid.startswith(prefix)), self.docker_ops)
            return getattr(target, op)(cid, *args, **kwargs)

        return route


class ContainerHost:
    """Mixin: Zun containers on this node."""

    # -- creation ---------------------------------------------------------
    def create_container(self, c: Container) -> None:
        """Create (and with ``run`` start) a placed container; returns at once."""
        threading.Thread(target=self._create_container, args=(c,), name=f"ctr-{c.uuid[:8]}", daemon=True).start()

    def _create_container(self, c: Container) -> None:
        with self.object_lock(c.uuid):
            self._build_container(c)

    def _registry_auth(self, c: Container) -> tuple[str, dict[str, str] | None, str]:
        """The image reference, credentials and registry domain, through the container's registry if it has one."""
        main = c.capsule.containers[0]
        registry_id = c.spec.get("registry_id")
        if not registry_id:
            return main.image, None, ""
        reg = self.store.registries.get_registry(registry_id)
        image = main.image if main.image.startswith(reg["domain"] + "/") else f"{reg['domain']}/{main.image}"
        auth = {"username": reg["username"], "password": SecretBox(self.settings).open(reg["password"])} if reg["username"] else None
        return image, auth, reg["domain"]

    def _build_container(self, c: Container) -> None:
        main = c.capsule.containers[0]
        try:
            self.store.containers.update_container(c.uuid, task_state="image_pulling")
            if c.spec.get("image_driver") == "glance":
                self._glance().ensure_image(self.runtime, main.image, main.pull_policy)
            else:
                image, auth, domain = self._registry_auth(c)
                if image != main.image:
                    main = replace(main, image=image)
                self.runtime.ensure_image(main.image, main.pull_policy, auth=auth, registry=domain, project=c.project_id)
            self.store.containers.update_container(c.uuid, task_state="container_creating")
            labels = self.runtime.labels_for(uuid=c.uuid, project=c.project_id, capsule=c.uuid, name=main.name, role=CONTAINER_ROLE)
            self.remove_stale_copies(c.uuid)
            cpus, mems = self.cpuset_for(c.uuid, c.capsule)
            if c.capsule.runtime == "vm":  # a VM, not a Docker container: its id routes operations to VmOps
                cid = self.vm_ops.create(c.uuid, replace(c.capsule, containers=(main,)), restart=_vm_restart(c.spec))
            elif c.capsule.runtime == "nova":  # on a Nova server's engine: its id routes operations to NovaOps
                cid = self._nova_ops().create(c.uuid, c.project_id, main, name=f"{self.runtime.instance}-{c.uuid}", labels=labels, long_running=long_running_options(c, instance=self.runtime.instance))
                self._inject_files(c, cid)
            else:
                cid = self._create_docker_container(c, main, labels, cpus, mems)
            c = self.store.containers.update_container(c.uuid, container_id=cid, status=ContainerStatus.CREATED, task_state=None, status_reason="") or c
            if c.start_on_create:
                self.store.containers.update_container(c.uuid, task_state="container_starting")
                self._ops().start(cid)
                self.store.containers.update_container(c.uuid, started_at=time.time())
            self._refresh(c.uuid)
        except ZunrayError as exc:
            self.release_host_resources(c.uuid)
            self.store.containers.update_container(c.uuid, status=ContainerStatus.ERROR, task_state=None, status_reason=exc.message)
        except Exception as exc:  # a bug must not leave the container Creating forever
            log.exception("creating container %s failed", c.uuid)
            self.release_host_resources(c.uuid)
            self.store.containers.update_container(c.uuid, status=ContainerStatus.ERROR, task_state=None, status_reason=f"internal error: {exc}")

    def _create_docker_container(self, c: Container, main, labels: dict, cpus: str | None, mems: str | None) -> str:  # noqa: ANN001
        _, volumes = docker_binds(c.spec.get("mounts") or [], instance=self.runtime.instance, project_id=c.project_id)
        for name in volumes:  # labelled, so that they can be found per project (Docker would make them bare)
            self.runtime.create_volume(name, labels={f"{LABEL}.instance": self.runtime.instance, f"{LABEL}.project": c.project_id})
        cid = self.runtime.create(
            main,
            name=f"{self.runtime.instance}-{c.uuid}",
            labels=labels,
            runtime=c.capsule.runtime,
            network_mode=self.networks.resolve(c.capsule.network, c.project_id),
            long_running=replace(long_running_options(c, instance=self.runtime.instance), cpuset_cpus=cpus or None, cpuset_mems=mems),
        )
        self._inject_files(c, cid)
        return cid

    def _remove_engine_container(self, c: Container) -> None:
        """The Docker container, the VM or the container on a Nova server behind a Zun container."""
        cid = c.container_id
        if cid.startswith(VM_PREFIX):
            self.vm_ops.remove(cid)
        elif cid.startswith(NOVA_PREFIX):
            self._nova_ops().remove(cid, holder=c.uuid)
        else:
            self.runtime.remove(cid)

    def _inject_files(self, c: Container, cid: str) -> None:
        """Zun's ``bind`` mounts carry a file's content: copy it in (no host path is mounted)."""
        files = [m for m in c.spec.get("mounts") or () if m.get("type") == "bind"]
        if not files:
            return
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for m in files:
                data = base64.b64decode(m["source"])
                info = tarfile.TarInfo(m["destination"].lstrip("/"))
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        self._ops().put_archive(cid, "/", buf.getvalue())

    def _glance(self) -> GlanceImages:
        if not self.settings.glance_url:
            raise InvalidSpec("image_driver glance needs glance_url in the configuration", field="image_driver")
        return GlanceImages(endpoint=self.settings.glance_url)

    def _ops(self) -> OpsRouter:
        """Operations on a Zun container's Docker container, VM or container on a Nova server, by its id."""
        return OpsRouter(ContainerOps(self.runtime), {VM_PREFIX: self.vm_ops, **({NOVA_PREFIX: self.nova_ops} if self.nova_ops else {})})

    def _nova_ops(self) -> NovaOps:
        self._nova_pool()  # says so when this host has no Nova endpoint
        return self.nova_ops

    def _refresh(self, uuid: str) -> Container | None:
        """Set the stored status from what Docker reports now."""
        c = self.store.containers.get_container(uuid)
        if not c.container_id:
            return c
        try:
            state = self._ops().state(c.container_id)
        except NotFound:
            if c.spec.get("auto_remove"):
                self._forget(c)
                return None
            return self.store.containers.update_container(uuid, status=ContainerStatus.ERROR, task_state=None, status_reason="the container disappeared from Docker")
        status = DOCKER_STATES.get(state.get("Status", ""), ContainerStatus.UNKNOWN)
        reason = state.get("Error") or ("" if status is not ContainerStatus.STOPPED else f"exited with {state.get('ExitCode')}")
        if status is ContainerStatus.STOPPED and state.get("OOMKilled"):
            reason += " (OOMKilled)"
        if status is c.status and c.task_state is None and reason == c.status_reason:
            return c
        if c.status is ContainerStatus.RUNNING and status is not ContainerStatus.RUNNING:  # it ran until now: its last usage record
            self.meter_end(kind="container", object_id=c.uuid, project_id=c.project_id, name=c.name, runtime=c.capsule.runtime, resources=c.demand(),
                           since=c.started_at or c.created_at, status=status.value, exit_code=state.get("ExitCode"))
        return self.store.containers.update_container(uuid, status=status, task_state=None, status_reason=reason)

    def _forget(self, c: Container) -> None:
        self.meter_end(kind="container", object_id=c.uuid, project_id=c.project_id, name=c.name, runtime=c.capsule.runtime, resources=c.demand(),
                       since=c.started_at if c.status is ContainerStatus.RUNNING else None, status="Deleted")
        self.store.containers.delete_container(c.uuid)
        self.release_host_resources(c.uuid)
        self.finished(c.uuid, "container")

    # -- actions ----------------------------------------------------------
    def container_action(self, uuid: str, action: str, params: dict[str, Any]) -> Any:
        """Run one Zun action on a container of this host; returns its result.

        Bounded: 429 past the project's share of this node, 409 while another action
        holds the container (a delete waits longer: creation may be pulling its image).
        """
        project = self.store.containers.get_container(uuid).project_id
        wait_s = self.settings.node_call_timeout_s / 2 if action == "delete" else None
        with self.operation(project, uuid, wait_s=wait_s):
            return self._container_action(uuid, action, params)

    def _container_action(self, uuid: str, action: str, params: dict[str, Any]) -> Any:
        c = self.store.containers.get_container(uuid)
        handler = getattr(self, f"_act_{action}", None)
        if handler is None:
            raise InvalidSpec(f"unknown action {action}")
        if not c.container_id and action not in ("delete",):
            raise NotFound(f"container {uuid} has no Docker container on {self.name}")
        result = handler(c, **params)
        if action != "delete":
            self._refresh(uuid)
        return result

    def _act_start(self, c: Container) -> None:
        self._ops().start(c.container_id)
        self.store.containers.update_container(c.uuid, started_at=time.time())

    def _act_stop(self, c: Container, timeout: int = DEFAULT_STOP_TIMEOUT_S) -> None:
        self._ops().stop(c.container_id, timeout)

    def _act_reboot(self, c: Container, timeout: int = DEFAULT_STOP_TIMEOUT_S) -> None:
        self._ops().restart(c.container_id, timeout)
        self.store.containers.update_container(c.uuid, started_at=time.time())

    def _act_pause(self, c: Container) -> None:
        self._ops().pause(c.container_id)

    def _act_unpause(self, c: Container) -> None:
        self._ops().unpause(c.container_id)

    def _act_kill(self, c: Container, signal: str | None = None) -> None:
        self._ops().kill(c.container_id, signal)

    def _act_execute(self, c: Container, command: list[str]) -> dict:
        output, code = self._ops().execute(c.container_id, command, max_bytes=self.settings.exec_output_max_bytes, timeout_s=self.settings.exec_timeout_s)
        return {"output": output, "exit_code": code}

    def _act_logs(self, c: Container, **kwargs: Any) -> str:
        return self._ops().logs(c.container_id, **kwargs, max_bytes=self.settings.log_max_bytes)

    def _act_top(self, c: Container, ps_args: str | None = None) -> dict:
        return self._ops().top(c.container_id, ps_args)

    def _act_stats(self, c: Container) -> dict:
        return self._ops().stats(c.container_id)

    def _act_get_archive(self, c: Container, path: str) -> dict:
        data, stat = self._ops().get_archive(c.container_id, path, max_bytes=self.settings.archive_max_bytes)
        return {"data": base64.b64encode(data).decode(), "stat": stat}

    def _act_put_archive(self, c: Container, path: str, data: bytes) -> None:
        self._ops().put_archive(c.container_id, path, data)

    def _act_update(self, c: Container, cpu: float | None = None, memory_mb: int | None = None) -> None:
        self._ops().update(c.container_id, cpu=cpu, memory_mb=memory_mb)

    def _act_rename(self, c: Container, name: str) -> None:
        pass  # the Docker name carries the uuid, not the Zun name: nothing to do on the host

    def _act_commit(self, c: Container, repository: str, tag: str | None = None) -> dict:
        """A new tag, or one this project committed before: never another's tag (a shared or platform image)."""
        target = f"{repository}:{tag or 'latest'}"
        with self.object_lock(f"image:{target}"):  # the check and the commit, together, per tag
            if self.runtime.image_present(target) and not self.store.images.image_committed_by(c.project_id, target):
                raise Forbidden(f"image {target} exists and was not committed by this project: a commit never replaces it")
            image_id = self._ops().commit(c.container_id, repository, tag or "latest")
            self.store.images.record_image(c.project_id, target, kind=COMMIT)
        return {"uuid": image_id}

    def _act_network_list(self, c: Container) -> list:
        return []  # containers have no network until per-project networks arrive

    def _act_rebuild(self, c: Container, image: str | None = None) -> None:
        """Recreate the container from its (possibly new) image, keeping its status."""
        was_running = c.status is ContainerStatus.RUNNING
        self.store.containers.update_container(c.uuid, status=ContainerStatus.REBUILDING, task_state="container_rebuilding")
        self._remove_engine_container(c)
        fresh = self.store.containers.update_container(c.uuid, container_id=None, start_on_create=was_running) or c
        self._build_container(fresh)  # the action already holds this container's lock

    def _act_delete(self, c: Container, stop: bool = False, force: bool = False) -> None:
        self.store.containers.update_container(c.uuid, status=ContainerStatus.DELETING, task_state="container_deleting")
        if c.container_id:
            if stop and not force:
                try:
                    self._ops().stop(c.container_id, DEFAULT_STOP_TIMEOUT_S)
                except ZunrayError:
                    pass
            self._remove_engine_container(c)
        self._forget(c)

    def reboot_vm_containers(self) -> None:
        """After a restart: the VMs of Zun containers died with the previous node actor. Each is
        known again (start works); a running one boots again if its restart policy says so, else
        it is Stopped saying why."""
        for c in self.store.containers.list_containers(project_id=None, host=self.name):
            if not (c.container_id or "").startswith(VM_PREFIX):
                continue
            restart = _vm_restart(c.spec)
            running = c.status is ContainerStatus.RUNNING
            self.vm_ops.create(c.uuid, c.capsule, restart=restart, lost=running)
            if running and restart != "no":
                log.info("booting the VM of container %s again after a node actor restart", c.uuid)
                self.store.containers.update_container(c.uuid, task_state="container_starting")  # the sync leaves it alone meanwhile
                threading.Thread(target=self.container_action, args=(c.uuid, "start", {}), name=f"ctr-{c.uuid[:8]}", daemon=True).start()
            elif running:
                self._refresh(c.uuid)  # Stopped, saying why

    # -- watching ---------------------------------------------------------
    def sync_containers(self) -> None:
        """Follow status changes Docker made by itself (exits, restarts, auto-remove).

        A container with ``auto_heal`` that stopped without being asked to
        (its last action was not stop or kill) is started again.
        """
        for c in self.store.containers.list_containers(project_id=None, host=self.name):
            if c.container_id and c.task_state is None and c.status not in (ContainerStatus.DELETING, ContainerStatus.REBUILDING):
                try:
                    fresh = self._refresh(c.uuid)
                    if fresh and fresh.status is ContainerStatus.STOPPED and fresh.spec.get("auto_heal") and not self._stopped_on_purpose(fresh):
                        log.info("auto-healing container %s", fresh.uuid)
                        self._ops().start(fresh.container_id)
                        self._refresh(fresh.uuid)
                except ZunrayError:
                    log.exception("cannot refresh container %s", c.uuid)

    def _stopped_on_purpose(self, c: Container) -> bool:
        actions = self.store.containers.list_actions(c.uuid)
        return bool(actions) and actions[0]["action"] in ("stop", "kill")
