"""Function, instance and invocation records, and the invocation state machine.

A function is versioned: every change makes a new version, and instances of an
older version are drained and replaced. An instance is a capsule kept warm; an
invocation is one call, recorded in the store only when it is asynchronous
(synchronous calls are answered on the connection that made them).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

from runner.errors import InvalidTransition
from runner.models import PullPolicy, Resources, SecretRef

SHIM, COMMAND = "shim", "command"  # the two handler protocols


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """What a function runs and how its instances are sized and kept."""

    image: str
    handler: str | None = None  # module:function, served by the shim (images with python3)
    code: str | None = None  # optional inline Python source: the module that ``handler`` names
    command: tuple[
        str, ...
    ] = ()  # any image: payload on stdin, result from stdout, one process per call
    runtime: str = "runc"
    resources: Resources = Resources(cpu=0.5, memory_mb=128, pids=256)
    env: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0  # per invocation
    concurrency: int = 1  # invocations served at once by one instance
    min_instances: int = 0  # kept warm even when idle
    max_instances: int = 10
    idle_ttl_s: float = 300.0  # an idle instance above min_instances goes after this
    pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    secrets: tuple[SecretRef, ...] = ()  # given to each instance (runner.secret_refs)
    registry_id: str | None = None  # a project registry whose stored credentials pull the image

    @property
    def protocol(self) -> str:
        return COMMAND if self.command else SHIM

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FunctionSpec:
        data = dict(data)
        data["resources"] = Resources(**data.get("resources") or {})
        data["command"] = tuple(data.get("command") or ())
        data["pull_policy"] = PullPolicy(data.get("pull_policy", PullPolicy.IF_NOT_PRESENT))
        data["secrets"] = tuple(SecretRef(**r) for r in data.get("secrets") or ())
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Function:
    uuid: str
    name: str
    project_id: str
    user_id: str
    version: int
    spec: FunctionSpec
    created_at: float = 0.0
    updated_at: float = 0.0


class InstanceStatus(str, enum.Enum):
    CREATING = "Creating"  # waiting for a host, or starting on it
    READY = "Ready"  # serving (idle or busy: the function actor knows which)
    FAILED = "Failed"  # could not start, or its host was lost
    STOPPING = "Stopping"  # being drained and removed


#: from-status -> the statuses an instance may become: one being stopped is never served again
INSTANCE_TRANSITIONS: dict[InstanceStatus, frozenset[InstanceStatus]] = {
    InstanceStatus.CREATING: frozenset(
        {InstanceStatus.READY, InstanceStatus.FAILED, InstanceStatus.STOPPING}
    ),
    InstanceStatus.READY: frozenset({InstanceStatus.FAILED, InstanceStatus.STOPPING}),
    InstanceStatus.STOPPING: frozenset({InstanceStatus.FAILED}),
    InstanceStatus.FAILED: frozenset({InstanceStatus.FAILED, InstanceStatus.STOPPING}),
}


@dataclass(frozen=True, slots=True)
class Instance:
    """One warm instance: a capsule placed by placement and kept by a node actor."""

    uuid: str
    function_uuid: str
    project_id: str
    version: int
    spec: FunctionSpec  # the function as it was at ``version``
    status: InstanceStatus = InstanceStatus.CREATING
    status_reason: str = ""
    host: str | None = None
    trace_context: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0

    def demand(self) -> Resources:
        return self.spec.resources


class InvocationStatus(str, enum.Enum):
    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"

    def is_terminal(self) -> bool:
        return self in (
            InvocationStatus.SUCCEEDED,
            InvocationStatus.FAILED,
            InvocationStatus.TIMED_OUT,
        )


I = InvocationStatus
INVOCATION_TRANSITIONS: dict[InvocationStatus, frozenset[InvocationStatus]] = {
    I.QUEUED: frozenset({I.RUNNING, I.FAILED}),  # Failed: its function was deleted
    I.RUNNING: frozenset(
        {I.SUCCEEDED, I.FAILED, I.TIMED_OUT, I.QUEUED}
    ),  # Queued: the actor restarted mid-call
}


def check_invocation(inv_id: str, current: InvocationStatus, wanted: InvocationStatus) -> None:
    if wanted not in INVOCATION_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition("invocation", inv_id, current.value, wanted.value)
