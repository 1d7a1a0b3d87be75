"""Zun containers: statuses, the action/state table, and the container record.

A Zun container is a capsule of one container that stays up (restart policy
instead of run-to-completion); it runs on the same placement and node path as
a job. The action table is Zun's own (``zun/common/utils.py`` VALID_STATES):
an action outside its states is refused with ``InvalidState`` (HTTP 409).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from runner.errors import Conflict
from runner.models import CapsuleSpec, Resources


class ContainerStatus(str, enum.Enum):
    CREATING = "Creating"
    CREATED = "Created"
    RUNNING = "Running"
    STOPPED = "Stopped"
    PAUSED = "Paused"
    RESTARTING = "Restarting"
    REBUILDING = "Rebuilding"
    DELETING = "Deleting"
    DELETED = "Deleted"
    ERROR = "Error"
    UNKNOWN = "Unknown"
    DEAD = "Dead"


C = ContainerStatus
#: action -> statuses in which Zun allows it
VALID_STATES: dict[str, frozenset[ContainerStatus]] = {
    "commit": frozenset({C.RUNNING, C.STOPPED, C.PAUSED}),
    "delete": frozenset({C.CREATED, C.ERROR, C.STOPPED, C.DELETED, C.DEAD}),
    "delete_force": frozenset(
        {
            C.CREATED,
            C.CREATING,
            C.ERROR,
            C.RUNNING,
            C.STOPPED,
            C.UNKNOWN,
            C.DELETED,
            C.DEAD,
            C.RESTARTING,
            C.REBUILDING,
            C.DELETING,
            C.PAUSED,
        }
    ),
    "delete_after_stop": frozenset({C.RUNNING, C.CREATED, C.ERROR, C.STOPPED, C.DELETED, C.DEAD}),
    "start": frozenset({C.CREATED, C.STOPPED, C.ERROR}),
    "stop": frozenset({C.RUNNING}),
    "reboot": frozenset({C.CREATED, C.RUNNING, C.STOPPED, C.ERROR}),
    "rebuild": frozenset({C.CREATED, C.RUNNING, C.STOPPED, C.ERROR}),
    "pause": frozenset({C.RUNNING}),
    "unpause": frozenset({C.PAUSED}),
    "kill": frozenset({C.RUNNING}),
    "execute": frozenset({C.RUNNING}),
    "execute_resize": frozenset({C.RUNNING}),
    "update": frozenset({C.CREATED, C.RUNNING, C.STOPPED, C.PAUSED}),
    "resize_container": frozenset({C.CREATED, C.RUNNING, C.STOPPED, C.PAUSED}),
    "attach": frozenset({C.RUNNING}),
    "resize": frozenset({C.RUNNING}),
    "top": frozenset({C.RUNNING}),
    "get_archive": frozenset({C.CREATED, C.PAUSED, C.RUNNING, C.STOPPED}),
    "put_archive": frozenset({C.CREATED, C.PAUSED, C.RUNNING, C.STOPPED}),
    "logs": frozenset({C.CREATED, C.ERROR, C.PAUSED, C.RUNNING, C.STOPPED, C.UNKNOWN}),
    "stats": frozenset({C.RUNNING}),
    "network_list": frozenset(ContainerStatus),
    "rename": frozenset(ContainerStatus) - {C.DELETING, C.DELETED},
}

#: what the engine reports, and what an action or a failure makes of a container or capsule
_LIVE = frozenset(
    {C.CREATED, C.RUNNING, C.STOPPED, C.PAUSED, C.RESTARTING, C.ERROR, C.UNKNOWN, C.DEAD}
)
#: from-status -> the statuses a Zun container or capsule may become. Zun's statuses follow the
#: engine, so the live ones move freely between themselves; what the table fences: a deletion is
#: never undone by an engine sync (Deleting only ends in the row's removal, or in Error if the
#: engine refused), and only a host loss or a rebuild sends one back to Creating.
CONTAINER_TRANSITIONS: dict[ContainerStatus, frozenset[ContainerStatus]] = {
    C.CREATING: _LIVE | {C.CREATING, C.DELETING},
    **{s: _LIVE | {C.CREATING, C.REBUILDING, C.DELETING} for s in _LIVE},
    C.REBUILDING: _LIVE | {C.DELETING},
    C.DELETING: frozenset({C.ERROR}),
    C.DELETED: frozenset(),
}
del C

#: Docker's container state -> Zun status
DOCKER_STATES: dict[str, ContainerStatus] = {
    "created": ContainerStatus.CREATED,
    "running": ContainerStatus.RUNNING,
    "paused": ContainerStatus.PAUSED,
    "restarting": ContainerStatus.RESTARTING,
    "exited": ContainerStatus.STOPPED,
    "dead": ContainerStatus.DEAD,
    "removing": ContainerStatus.DELETING,
}


class InvalidState(Conflict):
    """Zun's InvalidStateException: the action is not allowed in this status."""

    def __init__(self, uuid: str, action: str, status: ContainerStatus) -> None:
        super().__init__(f"Cannot {action} container {uuid} in {status.value} state")


def check_action(uuid: str, status: ContainerStatus, action: str) -> None:
    if status not in VALID_STATES[action]:
        raise InvalidState(uuid, action, status)


@dataclass(frozen=True, slots=True)
class Container:
    """A Zun container (a store row)."""

    uuid: str
    name: str
    project_id: str
    user_id: str
    capsule: CapsuleSpec  # one container: image, command, env, resources, runtime
    status: ContainerStatus = ContainerStatus.CREATING
    task_state: str | None = None
    status_reason: str = ""
    status_detail: str = ""
    host: str | None = None
    container_id: str | None = None  # the Docker id once created
    start_on_create: bool = False  # created with ?run=true
    spec: dict[str, Any] = field(default_factory=dict)  # Zun fields kept as given
    trace_context: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None

    @property
    def image(self) -> str:
        return self.capsule.containers[0].image

    @property
    def resources(self) -> Resources:
        return self.capsule.containers[0].resources

    def demand(self) -> Resources:
        return self.capsule.demand()

    def resized(self, *, cpu: float | None, memory_mb: int | None) -> CapsuleSpec:
        """Its capsule with the container's cpu and memory changed (None: kept)."""
        main = self.capsule.containers[0]
        res = replace(
            main.resources,
            cpu=main.resources.cpu if cpu is None else cpu,
            memory_mb=main.resources.memory_mb if memory_mb is None else memory_mb,
        )
        return replace(self.capsule, containers=(replace(main, resources=res),))


@dataclass(frozen=True, slots=True)
class Capsule:
    """A Zun capsule: init and app containers together on one host, sharing a
    network namespace (held by a sandbox container) and named volumes."""

    uuid: str
    name: str
    project_id: str
    user_id: str
    capsule: CapsuleSpec
    status: ContainerStatus = ContainerStatus.CREATING
    status_reason: str = ""
    host: str | None = None
    restart_policy: str = "always"  # always | on-failure | no (Zun maps Always/OnFailure/Never)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # container name -> {uuid, status}
    trace_context: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0

    def demand(self) -> Resources:
        return self.capsule.demand()
