"""What the placement actor places: jobs, Zun containers and capsules, and
function instances, seen as requests.

All are capsules; this module is the one place that knows how each kind is
stored: which records wait for a host, which hold a claim, and how a claim is
recorded (a compare-and-set in the store, so two placements never both win).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from policies import Demand
from policies.quota import quota_wait_reason
from policies.restart import moves_after_host_loss, policy_name
from runner.containers import Capsule, Container, ContainerStatus
from runner.demand import placement_demand, quota_demand
from runner.errors import InvalidTransition, NotFound
from runner.functions.instance import capsule_of
from runner.functions.model import Instance, InstanceStatus
from runner.models import Job, JobStatus
from runner.store import Store

JOB, CONTAINER, CAPSULE, INSTANCE = "job", "container", "capsule", "instance"
QUEUED_KINDS = (JOB, INSTANCE)
_ACTIVE_JOBS = (JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING)


@dataclass(slots=True)
class Request:
    """A capsule waiting for (or holding) a host."""

    kind: str
    id: str
    demand: Demand
    trace_context: dict = field(default_factory=dict)
    not_before: float | None = None
    host: str | None = None
    project_id: str = ""
    quota: dict = field(default_factory=dict)  # what it counts against its project's quota
    parent_id: str | None = None  # a task of a job array
    parallelism: int = 1  # the array's tasks running at once, at most
    queued_at: float = field(
        default_factory=time.monotonic
    )  # when placement took it in (latency metric)


def _demand(record: Job | Container | Capsule | Instance) -> Demand:
    if isinstance(record, Instance):
        return placement_demand(capsule_of(record), project_id=record.project_id)
    spec = getattr(record, "spec", {})  # Zun containers carry hints and a requested host
    hints, host = spec.get("hints"), spec.get("host")
    return placement_demand(record.capsule, project_id=record.project_id, hints=hints, host=host)


def from_job(job: Job) -> Request:
    return Request(
        JOB,
        job.id,
        _demand(job),
        job.trace_context,
        job.not_before,
        job.host,
        job.project_id,
        quota_demand(job.capsule),
        job.parent_id,
        job.parallelism,
    )


def from_container(c: Container) -> Request:
    return Request(
        CONTAINER,
        c.uuid,
        _demand(c),
        c.trace_context,
        None,
        c.host,
        c.project_id,
        quota_demand(c.capsule),
    )


def container_demand(store: Store, uuid: str) -> Demand:
    """What a Zun container reserves on its host now (after a resize); NotFound once deleted."""
    return _demand(store.containers.get_container(uuid))


def from_capsule(c: Capsule) -> Request:
    return Request(
        CAPSULE,
        c.uuid,
        _demand(c),
        c.trace_context,
        None,
        c.host,
        c.project_id,
        quota_demand(c.capsule),
    )


def from_instance(i: Instance) -> Request:
    quota = quota_demand(capsule_of(i))
    return Request(INSTANCE, i.uuid, _demand(i), i.trace_context, None, i.host, i.project_id, quota)


def load(store: Store, kind: str, obj_id: str) -> Request | None:
    """The request if the object still waits for a host."""
    try:
        if kind == JOB:
            job = store.jobs.get_job(obj_id)
            return from_job(job) if job.status is JobStatus.QUEUED and not job.is_array else None
        if kind == INSTANCE:
            inst = store.functions.get_instance(obj_id)
            return (
                from_instance(inst)
                if inst.status is InstanceStatus.CREATING and inst.host is None
                else None
            )
        if kind == CAPSULE:
            cap = store.capsules.get_capsule(obj_id)
            return (
                from_capsule(cap)
                if cap.status is ContainerStatus.CREATING and cap.host is None
                else None
            )
        c = store.containers.get_container(obj_id)
        return (
            from_container(c) if c.status is ContainerStatus.CREATING and c.host is None else None
        )
    except NotFound:
        return None


def waiting(store: Store) -> list[Request]:
    jobs = [
        from_job(j) for j in store.jobs.jobs_with_status([JobStatus.QUEUED]) if not j.is_array
    ]  # an array's parent never runs itself
    containers = [
        from_container(c)
        for c in store.containers.list_containers(
            project_id=None, statuses=[ContainerStatus.CREATING]
        )
        if c.host is None
    ]
    caps = [
        from_capsule(c)
        for c in store.capsules.list_capsules(project_id=None, statuses=[ContainerStatus.CREATING])
        if c.host is None
    ]
    instances = [
        from_instance(i)
        for i in store.functions.list_instances(statuses=[InstanceStatus.CREATING])
        if i.host is None
    ]
    return jobs + containers + caps + instances


def holding(store: Store) -> list[Request]:
    """Everything that holds resources on a host now."""
    jobs = [
        from_job(j) for j in store.jobs.jobs_with_status(_ACTIVE_JOBS) if j.host and not j.is_array
    ]
    containers = [
        from_container(c) for c in store.containers.list_containers(project_id=None) if c.host
    ]
    caps = [from_capsule(c) for c in store.capsules.list_capsules(project_id=None) if c.host]
    instances = [
        from_instance(i)
        for i in store.functions.list_instances(
            statuses=[InstanceStatus.CREATING, InstanceStatus.READY, InstanceStatus.STOPPING]
        )
        if i.host
    ]
    return jobs + containers + caps + instances


def claim(store: Store, req: Request, host: str) -> Job | Container | Capsule | Instance | None:
    """Record the placement; None if the object no longer waits (cancelled, deleted)."""
    try:
        if req.kind == JOB:
            return store.jobs.transition_job(
                req.id,
                JobStatus.PLACED,
                reason=f"placed on {host}",
                only_from=[JobStatus.QUEUED],
                host=host,
            )
        if req.kind == CAPSULE:
            return store.capsules.claim_capsule_host(req.id, host)
        if req.kind == INSTANCE:
            return store.functions.claim_instance_host(req.id, host)
        return store.containers.claim_container_host(req.id, host)
    except (InvalidTransition, NotFound):
        return None


def note(store: Store, req: Request, reason: str) -> bool:
    """Show why it waits; False if it no longer waits."""
    if req.kind == JOB:
        return store.jobs.update_job(req.id, only_in=[JobStatus.QUEUED], status_reason=reason)
    if req.kind == CAPSULE:
        return (
            store.capsules.update_capsule(
                req.id, only_in=[ContainerStatus.CREATING], status_reason=reason
            )
            is not None
        )
    if req.kind == INSTANCE:
        return (
            store.functions.update_instance(
                req.id, only_in=[InstanceStatus.CREATING], status_reason=reason
            )
            is not None
        )
    return (
        store.containers.update_container(
            req.id, only_in=[ContainerStatus.CREATING], status_reason=reason
        )
        is not None
    )


def quota_block(req: Request, used: dict[str, float], limits: dict[str, float]) -> str | None:
    """Why a job must wait for its project's quota, or None if it fits.

    Zun containers and capsules were admitted when created; jobs and function
    instances are admitted here, when they would start, so they wait instead
    of failing.
    """
    if req.kind not in QUEUED_KINDS:
        return None
    return quota_wait_reason(used, req.quota, limits)


def replace_lost(store: Store, req: Request, reason: str) -> Request | None:
    """A Zun container, capsule or function instance whose host was lost.

    One with a restart policy (Zun's ``always``/``unless-stopped``/``on-failure``;
    a capsule's ``always``/``on-failure``) is created again on another host: it
    waits for placement anew (returned). Others become ``Unknown``, as in Zun; a
    function instance is marked Failed and the function actor replaces it.
    """
    if req.kind == CONTAINER:
        c = store.containers.get_container(req.id)
        if moves_after_host_loss(policy_name(c.spec.get("restart_policy"))):
            moved = store.containers.transition_container(
                req.id,
                ContainerStatus.CREATING,
                task_state=None,
                host=None,
                container_id=None,
                start_on_create=c.start_on_create or c.status is ContainerStatus.RUNNING,
                reason=f"{reason}; creating it again elsewhere (restart policy)",
            )
            return from_container(moved) if moved else None
        store.containers.transition_container(
            req.id, ContainerStatus.UNKNOWN, task_state=None, reason=reason
        )
    elif req.kind == CAPSULE:
        cap = store.capsules.get_capsule(req.id)
        if moves_after_host_loss(cap.restart_policy):
            moved = store.capsules.transition_capsule(
                req.id,
                ContainerStatus.CREATING,
                host=None,
                reason=f"{reason}; creating it again elsewhere (restart policy)",
            )
            return from_capsule(moved) if moved else None
        store.capsules.transition_capsule(req.id, ContainerStatus.UNKNOWN, reason=reason)
    elif req.kind == INSTANCE:
        store.functions.transition_instance(req.id, InstanceStatus.FAILED, reason=reason)
    return None
