"""Domain models: resources, container and capsule specs, jobs and their state machine.

Everything that runs is a capsule of one or more containers; a job is a capsule
with a run-to-completion policy. Statuses are ``str`` enums and the allowed
transitions are data (``JOB_TRANSITIONS``), checked by ``check_transition``.
API request/response schemas live in the gateway, not here.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, TypeVar

from runner.errors import InvalidTransition

E = TypeVar("E", bound=enum.Enum)


@dataclass(frozen=True, slots=True)
class Resources:
    """What a container or capsule asks for (and a host offers)."""

    cpu: float = 1.0  # cores; fractional allowed (Docker NanoCpus)
    memory_mb: int = 512  # hard memory limit
    disk_gb: float = 0.0  # accounted for placement; not enforced on overlay2
    pids: int = 1024  # pids cgroup limit
    hugepages_2m_pages: int = 0  # 2 MiB huge pages, from the host's inventory (NFV)
    hugepages_1g_pages: int = 0  # 1 GiB huge pages

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            *(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other)))
        )

    def max(self, other: Resources) -> Resources:
        return Resources(
            *(max(a, b) for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other)))
        )


ZERO = Resources(cpu=0.0, memory_mb=0, disk_gb=0.0, pids=0)


class PullPolicy(str, enum.Enum):
    IF_NOT_PRESENT = "ifnotpresent"  # air-gapped friendly default
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """One container of a capsule."""

    image: str
    command: tuple[str, ...] = ()  # empty: the image's default command
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    resources: Resources = Resources()
    name: str = "main"  # unique within its capsule
    pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    mounts: tuple[VolumeMount, ...] = ()  # the capsule's volumes mounted into this container
    capabilities: tuple[
        str, ...
    ] = ()  # added Linux capabilities (NFV: NET_ADMIN, NET_RAW, IPC_LOCK, SYS_NICE)
    sysctls: dict[str, str] = field(
        default_factory=dict
    )  # namespaced sysctls from the operator's allowed list
    secrets: tuple[SecretRef, ...] = ()  # resolved by the node at the container's creation
    registry_id: str | None = None  # a project registry whose stored credentials pull the image


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A project secret given to a container: as an environment variable or as a file.

    Only the reference is stored and shown; the node reads the sealed value at the container's
    creation. A file is ``/run/secrets/<file>``, mode 0400, owned by the container's user, on a
    tmpfs of the host bind-mounted read-only.
    """

    secret: str  # the secret's name in the object's project
    env: str | None = None  # this environment variable holds the value
    file: str | None = None  # or this file name under /run/secrets


@dataclass(frozen=True, slots=True)
class VolumeMount:
    """A capsule volume seen inside one container."""

    volume: str  # a name from CapsuleSpec.volumes
    path: str  # absolute path inside the container
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class CapsuleSpec:
    """Containers placed together on one host, sharing a network namespace.

    Init containers run one after the other to completion before the app
    containers start. A capsule of one container is how a plain job runs.
    """

    containers: tuple[ContainerSpec, ...]
    init_containers: tuple[ContainerSpec, ...] = ()
    runtime: str = "runc"  # runc | runsc
    network: str | None = None  # None: no network at all
    volumes: tuple[str, ...] = ()  # named volumes shared by the capsule's containers
    cpu_policy: str = "shared"  # shared | dedicated (whole cpus pinned on one NUMA node)
    labels: dict[str, str] = field(
        default_factory=dict
    )  # what affinity rules of other capsules match
    affinity: tuple[
        tuple[str, str], ...
    ] = ()  # only on a host running a capsule with each label k=v
    anti_affinity: tuple[
        tuple[str, str], ...
    ] = ()  # never on a host running a capsule with any label k=v
    availability_zone: str | None = None  # only on hosts of this zone (``policies.zone``)

    def demand(self) -> Resources:
        """Peak resources: app containers run together, init ones one by one."""
        apps = sum((c.resources for c in self.containers), Resources(0.0, 0, 0.0, 0))
        peak_init = Resources(0.0, 0, 0.0, 0)
        for c in self.init_containers:
            peak_init = peak_init.max(c.resources)
        return apps.max(peak_init)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CapsuleSpec:
        def container(c: dict[str, Any]) -> ContainerSpec:
            return ContainerSpec(
                image=c["image"],
                command=tuple(c.get("command") or ()),
                env=dict(c.get("env") or {}),
                workdir=c.get("workdir"),
                resources=Resources(**c.get("resources", {})),
                name=c.get("name", "main"),
                pull_policy=PullPolicy(c.get("pull_policy", PullPolicy.IF_NOT_PRESENT)),
                mounts=tuple(VolumeMount(**m) for m in c.get("mounts", ())),
                capabilities=tuple(c.get("capabilities", ())),
                sysctls=dict(c.get("sysctls") or {}),
                secrets=tuple(SecretRef(**r) for r in c.get("secrets", ())),
                registry_id=c.get("registry_id"),
            )

        return cls(
            containers=tuple(container(c) for c in data["containers"]),
            init_containers=tuple(container(c) for c in data.get("init_containers", ())),
            runtime=data.get("runtime", "runc"),
            network=data.get("network"),
            volumes=tuple(data.get("volumes", ())),
            cpu_policy=data.get("cpu_policy", "shared"),
            labels=dict(data.get("labels") or {}),
            affinity=tuple(tuple(kv) for kv in data.get("affinity", ())),
            anti_affinity=tuple(tuple(kv) for kv in data.get("anti_affinity", ())),
            availability_zone=data.get("availability_zone"),
        )


#: retries an array's tasks may use between them, unless the request says (Kubernetes' Job default)
DEFAULT_BACKOFF_LIMIT = 6


class JobStatus(str, enum.Enum):
    QUEUED = "Queued"
    PLACED = "Placed"
    STARTING = "Starting"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    TIMED_OUT = "TimedOut"

    def is_terminal(self) -> bool:
        return self in _TERMINAL

    def is_active(self) -> bool:
        """Holds resources on a host (placed and not yet ended)."""
        return self in (JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING)


_TERMINAL = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT}
)

S = JobStatus
#: from-status -> the statuses it may become. A retry goes back to Queued.
JOB_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.QUEUED: frozenset({S.PLACED, S.CANCELLED, S.FAILED}),
    S.PLACED: frozenset({S.STARTING, S.QUEUED, S.CANCELLED, S.FAILED}),
    S.STARTING: frozenset({S.RUNNING, S.QUEUED, S.FAILED, S.CANCELLED, S.TIMED_OUT}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.TIMED_OUT, S.QUEUED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.TIMED_OUT: frozenset(),
}
#: an array's parent never runs itself: Running from its first task's start to its end
ARRAY_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED, S.FAILED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    **{
        s: frozenset()
        for s in (S.PLACED, S.STARTING, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.TIMED_OUT)
    },
}
del S


def sources_of(target: E, table: Mapping[E, frozenset[E]]) -> frozenset[E]:
    """Every status from which ``target`` may be reached, in any kind's transition table."""
    return frozenset(src for src, dests in table.items() if target in dests)


def check_transition(
    job_id: str,
    current: JobStatus,
    wanted: JobStatus,
    table: dict[JobStatus, frozenset[JobStatus]] = JOB_TRANSITIONS,
) -> None:
    """Raise ``InvalidTransition`` unless ``current -> wanted`` is allowed."""
    if wanted not in table[current]:
        raise InvalidTransition("job", job_id, current.value, wanted.value)


@dataclass(frozen=True, slots=True)
class Job:
    """A run-to-completion capsule and what happened to it (a store row)."""

    id: str
    project_id: str
    user_id: str
    capsule: CapsuleSpec
    status: JobStatus = JobStatus.QUEUED
    status_reason: str = ""
    name: str = ""
    submission_id: str | None = None  # idempotency key, unique per project
    timeout_s: float | None = None  # per attempt
    max_retries: int = 0
    attempt: int = 0  # attempts started so far
    host: str | None = None
    exit_code: int | None = None
    not_before: float | None = None  # epoch seconds; retry backoff
    cancel_requested: bool = False
    trace_context: dict[str, str] = field(default_factory=dict)  # W3C traceparent carrier
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    # job arrays: a parent with completions > 1 runs as indexed child tasks
    completions: int = 1
    parallelism: int = 1
    backoff_limit: int = DEFAULT_BACKOFF_LIMIT  # retries allowed across all tasks of an array
    retries_used: int = 0
    parent_id: str | None = None  # set on a task of an array
    task_index: int | None = None

    @property
    def is_array(self) -> bool:
        return self.completions > 1 and self.parent_id is None

    def demand(self) -> Resources:
        return self.capsule.demand()
