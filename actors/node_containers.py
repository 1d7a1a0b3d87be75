"""Zun containers on a NodeActor's host: create and watch the long-running containers
placed here (``node_container_actions`` acts on them and deletes them).

Status always follows what Docker reports after each operation, and a periodic
``sync`` catches changes Docker makes by itself (a process that exits, a restart
policy at work, auto-remove).
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

from actors.node_host import HostContext
from actors.node_isolation import Isolation
from actors.node_metering import Metering, of_container
from runner.containers import DOCKER_STATES, Container, ContainerStatus
from runner.errors import InvalidSpec, NotFound, ZunrayError
from runner.images.glance import GlanceImages
from runner.mounts import docker_binds
from runner.runtimes.docker_types import LongRunning
from runner.runtimes.registry import NewContainer, Runtimes
from runner.secrets import SecretBox

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


def vm_restart(spec: dict) -> str:
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
            "Test": ["CMD-SHELL", hc["test"]]
            if isinstance(hc.get("test"), str)
            else hc.get("test"),
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


def _files_tar(c: Container) -> bytes | None:
    """Zun's ``bind`` mounts carry a file's content: a tar of them, to copy in (no host path is mounted)."""
    files = [m for m in c.spec.get("mounts") or () if m.get("type") == "bind"]
    if not files:
        return None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for m in files:
            data = base64.b64decode(m["source"])
            info = tarfile.TarInfo(m["destination"].lstrip("/"))
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Containers:
    """The Zun containers placed on this node: their Docker containers, VMs or containers on Nova servers."""

    def __init__(
        self, host: HostContext, *, isolation: Isolation, metering: Metering, runtimes: Runtimes
    ) -> None:
        self.host = host
        self.store = host.store
        self.runtime = (
            host.runtime
        )  # this host's engine: images are pulled here, whatever runs the container
        self.settings = host.settings
        self.isolation = isolation
        self.metering = metering
        self.runtimes = runtimes  # Docker, VMs or Nova servers: by runtime name and by container id

    # -- creation ---------------------------------------------------------
    def create(self, c: Container) -> None:
        """Create (and with ``run`` start) a placed container; returns at once."""
        threading.Thread(
            target=self._create, args=(c,), name=f"ctr-{c.uuid[:8]}", daemon=True
        ).start()

    def _create(self, c: Container) -> None:
        with self.host.object_lock(c.uuid):
            self.build(c)

    def _registry_auth(self, c: Container) -> tuple[str, dict[str, str] | None, str]:
        """The image reference, credentials and registry domain, through the container's registry if it has one."""
        main = c.capsule.containers[0]
        registry_id = c.spec.get("registry_id")
        if not registry_id:
            return main.image, None, ""
        reg = self.store.registries.get_registry(registry_id)
        image = (
            main.image
            if main.image.startswith(reg["domain"] + "/")
            else f"{reg['domain']}/{main.image}"
        )
        auth = (
            {
                "username": reg["username"],
                "password": SecretBox(self.settings).open(reg["password"]),
            }
            if reg["username"]
            else None
        )
        return image, auth, reg["domain"]

    def build(self, c: Container) -> None:
        main = c.capsule.containers[0]
        try:
            self.store.containers.update_container(c.uuid, task_state="image_pulling")
            if c.spec.get("image_driver") == "glance":
                self._glance().ensure_image(self.runtime, main.image, main.pull_policy)
            else:
                image, auth, domain = self._registry_auth(c)
                if image != main.image:
                    main = replace(main, image=image)
                self.runtime.ensure_image(
                    main.image, main.pull_policy, auth=auth, registry=domain, project=c.project_id
                )
            self.store.containers.update_container(c.uuid, task_state="container_creating")
            labels = self.runtime.labels_for(
                uuid=c.uuid,
                project=c.project_id,
                capsule=c.uuid,
                name=main.name,
                role=CONTAINER_ROLE,
            )
            self.host.remove_stale_copies(c.uuid)
            _, volumes = docker_binds(
                c.spec.get("mounts") or [], instance=self.runtime.instance, project_id=c.project_id
            )
            cid = self.runtimes.named(c.capsule.runtime).create_container(
                NewContainer(
                    uuid=c.uuid,
                    project=c.project_id,
                    capsule=replace(c.capsule, containers=(main,)),
                    name=f"{self.runtime.instance}-{c.uuid}",
                    labels=labels,
                    long_running=long_running_options(c, instance=self.runtime.instance),
                    cpuset=self.isolation.cpuset_for(c.uuid, c.capsule),
                    volumes=tuple(volumes),
                    restart=vm_restart(c.spec),
                    files=_files_tar(c),
                )
            )
            c = (
                self.store.containers.transition_container(
                    c.uuid, ContainerStatus.CREATED, container_id=cid, task_state=None, reason=""
                )
                or c
            )
            if c.start_on_create:
                self.store.containers.update_container(c.uuid, task_state="container_starting")
                self.ops(cid).start(cid)
                self.store.containers.update_container(c.uuid, started_at=time.time())
            self.refresh(c.uuid)
        except ZunrayError as exc:
            self.isolation.release(c.uuid)
            self.store.containers.transition_container(
                c.uuid, ContainerStatus.ERROR, task_state=None, reason=exc.message
            )
        except Exception as exc:  # a bug must not leave the container Creating forever
            log.exception("creating container %s failed", c.uuid)
            self.isolation.release(c.uuid)
            self.store.containers.transition_container(
                c.uuid, ContainerStatus.ERROR, task_state=None, reason=f"internal error: {exc}"
            )

    def remove_engine_container(self, c: Container) -> None:
        """The Docker container, the VM or the container on a Nova server behind a Zun container."""
        self.runtimes.of_container(c.container_id).remove_container(c.container_id, holder=c.uuid)

    def _glance(self) -> GlanceImages:
        if not self.settings.glance_url:
            raise InvalidSpec(
                "image_driver glance needs glance_url in the configuration", field="image_driver"
            )
        return GlanceImages(endpoint=self.settings.glance_url)

    def ops(self, cid: str) -> Any:
        """Operations on a Zun container's Docker container, VM or container on a Nova server, by its id."""
        return self.runtimes.ops(cid)

    def refresh(self, uuid: str) -> Container | None:
        """Set the stored status from what Docker reports now."""
        c = self.store.containers.get_container(uuid)
        if not c.container_id:
            return c
        try:
            state = self.ops(c.container_id).state(c.container_id)
        except NotFound:
            if self.runtime.secrets is not None:  # gone without us (auto-remove): its files too
                self.runtime.secrets.removed(c.container_id)
            if c.spec.get("auto_remove"):
                self.forget(c)
                return None
            return self.store.containers.transition_container(
                uuid,
                ContainerStatus.ERROR,
                task_state=None,
                reason="the container disappeared from Docker",
            )
        status = DOCKER_STATES.get(state.get("Status", ""), ContainerStatus.UNKNOWN)
        reason = state.get("Error") or (
            "" if status is not ContainerStatus.STOPPED else f"exited with {state.get('ExitCode')}"
        )
        if status is ContainerStatus.STOPPED and state.get("OOMKilled"):
            reason += " (OOMKilled)"
        if status is c.status and c.task_state is None and reason == c.status_reason:
            return c
        if (
            c.status is ContainerStatus.RUNNING and status is not ContainerStatus.RUNNING
        ):  # it ran until now: its last usage record
            self.metering.end(
                **of_container(c),
                status=status.value,
                exit_code=state.get("ExitCode"),
            )
        return self.store.containers.transition_container(
            uuid, status, task_state=None, reason=reason
        )

    def forget(self, c: Container) -> None:
        self.metering.end(
            # a container that is not running now has no time left to record
            **(
                of_container(c)
                | {"since": c.started_at if c.status is ContainerStatus.RUNNING else None}
            ),
            status="Deleted",
        )
        self.store.containers.delete_container(c.uuid)
        self.isolation.release(c.uuid)
        self.host.finished(c.uuid, "container")

    # -- watching ---------------------------------------------------------
    def sync(self) -> None:
        """Follow status changes Docker made by itself (exits, restarts, auto-remove).

        A container with ``auto_heal`` that stopped without being asked to
        (its last action was not stop or kill) is started again.
        """
        for c in self.store.containers.list_containers(project_id=None, host=self.host.name):
            if (
                c.container_id
                and c.task_state is None
                and c.status not in (ContainerStatus.DELETING, ContainerStatus.REBUILDING)
            ):
                try:
                    fresh = self.refresh(c.uuid)
                    if (
                        fresh
                        and fresh.status is ContainerStatus.STOPPED
                        and fresh.spec.get("auto_heal")
                        and not self._stopped_on_purpose(fresh)
                    ):
                        log.info("auto-healing container %s", fresh.uuid)
                        self.ops(fresh.container_id).start(fresh.container_id)
                        self.refresh(fresh.uuid)
                except ZunrayError:
                    log.exception("cannot refresh container %s", c.uuid)

    def _stopped_on_purpose(self, c: Container) -> bool:
        actions = self.store.containers.list_actions(c.uuid)
        return bool(actions) and actions[0]["action"] in ("stop", "kill")

    # -- after a restart --------------------------------------------------
    def start(self, found_by_capsule: dict[str, list]) -> None:
        """Zun containers live on across a restart (``sync`` follows them): their containers are
        taken out of ``found_by_capsule``, a dedicated one's cpus pinned again."""
        for ctr in self.store.containers.list_containers(project_id=None, host=self.host.name):
            found_here = found_by_capsule.pop(ctr.uuid, [])
            self.isolation.readopt_pins(ctr.uuid, ctr.capsule, [c.id for c in found_here])
