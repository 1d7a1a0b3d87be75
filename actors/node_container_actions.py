"""The Zun actions on a NodeActor's containers: start, stop, exec, logs, archives,
commit, rebuild, delete and the rest, each one at a time per container.

``ContainerActions.run(uuid, action, params)`` is the node actor's one entry for
them (the gateway calls ``container_action``): ``ACTIONS`` lists what may be asked,
and nothing else of this class is reachable by name. After a restart
``adopt_after_restart()`` boots again the VMs of Zun containers whose restart policy asks for it.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any

from actors.node_containers import DEFAULT_STOP_TIMEOUT_S, Containers, vm_restart
from runner.containers import Container, ContainerStatus
from runner.errors import Forbidden, InvalidSpec, NotFound, ZunrayError
from runner.store.images import COMMIT

log = logging.getLogger(__name__)

#: the actions the gateway may ask for, by the name it sends (each a method of ``ContainerActions``)
ACTIONS = frozenset(
    {
        "start",
        "stop",
        "reboot",
        "pause",
        "unpause",
        "kill",
        "execute",
        "logs",
        "top",
        "stats",
        "get_archive",
        "put_archive",
        "update",
        "commit",
        "network_list",
        "rebuild",
        "delete",
    }
)


class ContainerActions:
    """Zun actions on this node's containers, through ``Containers`` (which creates and watches them)."""

    def __init__(self, containers: Containers) -> None:
        self.containers = containers
        self.host = containers.host
        self.store = containers.store
        self.settings = containers.settings

    def run(self, uuid: str, action: str, params: dict[str, Any]) -> Any:
        """Run one Zun action on a container of this host; returns its result.

        Bounded: 429 past the project's share of this node, 409 while another action
        holds the container (a delete waits longer: creation may be pulling its image).
        """
        if action not in ACTIONS:
            raise InvalidSpec(f"unknown action {action}")
        project = self.store.containers.get_container(uuid).project_id
        wait_s = self.settings.node_call_timeout_s / 2 if action == "delete" else None
        with self.host.operation(project, uuid, wait_s=wait_s):
            c = self.store.containers.get_container(uuid)
            if not c.container_id and action != "delete":
                raise NotFound(f"container {uuid} has no Docker container on {self.host.name}")
            result = getattr(self, action)(c, **params)
            if action != "delete":
                self.containers.refresh(uuid)
            return result

    def start(self, c: Container) -> None:
        self.containers.ops(c.container_id).start(c.container_id)
        self.store.containers.update_container(c.uuid, started_at=time.time())

    def stop(self, c: Container, timeout: int = DEFAULT_STOP_TIMEOUT_S) -> None:
        self.containers.ops(c.container_id).stop(c.container_id, timeout)

    def reboot(self, c: Container, timeout: int = DEFAULT_STOP_TIMEOUT_S) -> None:
        self.containers.ops(c.container_id).restart(c.container_id, timeout)
        self.store.containers.update_container(c.uuid, started_at=time.time())

    def pause(self, c: Container) -> None:
        self.containers.ops(c.container_id).pause(c.container_id)

    def unpause(self, c: Container) -> None:
        self.containers.ops(c.container_id).unpause(c.container_id)

    def kill(self, c: Container, signal: str | None = None) -> None:
        self.containers.ops(c.container_id).kill(c.container_id, signal)

    def execute(self, c: Container, command: list[str]) -> dict:
        output, code = self.containers.ops(c.container_id).execute(
            c.container_id,
            command,
            max_bytes=self.settings.exec_output_max_bytes,
            timeout_s=self.settings.exec_timeout_s,
        )
        return {"output": output, "exit_code": code}

    def logs(self, c: Container, **kwargs: Any) -> str:
        return self.containers.ops(c.container_id).logs(
            c.container_id, **kwargs, max_bytes=self.settings.log_max_bytes
        )

    def top(self, c: Container, ps_args: str | None = None) -> dict:
        return self.containers.ops(c.container_id).top(c.container_id, ps_args)

    def stats(self, c: Container) -> dict:
        return self.containers.ops(c.container_id).stats(c.container_id)

    def get_archive(self, c: Container, path: str) -> dict:
        data, stat = self.containers.ops(c.container_id).get_archive(
            c.container_id, path, max_bytes=self.settings.archive_max_bytes
        )
        return {"data": base64.b64encode(data).decode(), "stat": stat}

    def put_archive(self, c: Container, path: str, data: bytes) -> None:
        self.containers.ops(c.container_id).put_archive(c.container_id, path, data)

    def update(self, c: Container, cpu: float | None = None, memory_mb: int | None = None) -> None:
        self.containers.ops(c.container_id).update(c.container_id, cpu=cpu, memory_mb=memory_mb)

    def commit(self, c: Container, repository: str, tag: str | None = None) -> dict:
        """A new tag, or one this project committed before: never another's tag (a shared or platform image)."""
        target = f"{repository}:{tag or 'latest'}"
        with self.host.object_lock(
            f"image:{target}"
        ):  # the check and the commit, together, per tag
            if self.host.runtime.image_present(target) and not self.store.images.image_committed_by(
                c.project_id, target
            ):
                raise Forbidden(
                    f"image {target} exists and was not committed by this project: a commit never replaces it"
                )
            image_id = self.containers.ops(c.container_id).commit(
                c.container_id, repository, tag or "latest"
            )
            self.store.images.record_image(c.project_id, target, kind=COMMIT)
        return {"uuid": image_id}

    def network_list(self, c: Container) -> list:
        return []  # containers have no network until per-project networks arrive

    def rebuild(self, c: Container, image: str | None = None) -> None:
        """Recreate the container from its (possibly new) image, keeping its status."""
        was_running = c.status is ContainerStatus.RUNNING
        self.store.containers.transition_container(
            c.uuid, ContainerStatus.REBUILDING, task_state="container_rebuilding"
        )
        self.containers.remove_engine_container(c)
        fresh = (
            self.store.containers.update_container(
                c.uuid, container_id=None, start_on_create=was_running
            )
            or c
        )
        self.containers.build(fresh)  # the action already holds this container's lock

    def delete(self, c: Container, stop: bool = False, force: bool = False) -> None:
        self.store.containers.transition_container(
            c.uuid, ContainerStatus.DELETING, task_state="container_deleting"
        )
        if c.container_id:
            if stop and not force:
                try:
                    self.containers.ops(c.container_id).stop(c.container_id, DEFAULT_STOP_TIMEOUT_S)
                except ZunrayError:
                    pass
            try:
                self.containers.remove_engine_container(c)
            except ZunrayError as exc:  # as Zun: a delete the engine refused leaves it in Error
                self.store.containers.transition_container(
                    c.uuid, ContainerStatus.ERROR, task_state=None, reason=exc.message
                )
                raise
        self.containers.forget(c)

    def adopt_after_restart(self) -> None:
        """After a restart: each Zun container is known again to its runtime. Those that died with
        the previous node actor (VMs) start again when they ran and their restart policy says so;
        the others that ran are Stopped, saying why."""
        runtimes = self.containers.runtimes
        for c in self.store.containers.list_containers(project_id=None, host=self.host.name):
            if not c.container_id:
                continue
            restart = vm_restart(c.spec)
            running = c.status is ContainerStatus.RUNNING
            if not runtimes.of_container(c.container_id).adopt_container(
                c.uuid, c.container_id, c.capsule, restart=restart, running=running
            ):
                continue  # it lived on
            if running and restart != "no":
                log.info("booting the VM of container %s again after a node actor restart", c.uuid)
                self.store.containers.update_container(
                    c.uuid, task_state="container_starting"
                )  # the sync leaves it alone meanwhile
                threading.Thread(
                    target=self.run,
                    args=(c.uuid, "start", {}),
                    name=f"ctr-{c.uuid[:8]}",
                    daemon=True,
                ).start()
            elif running:
                self.containers.refresh(c.uuid)  # Stopped, saying why
