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
from runner.containers import Capsule, Container, ContainerStatus
from runner.errors import InvalidTransition, NotFound
from runner.functions.instance import capsule_of
from runner.functions.model import Instance, InstanceStatus
from runner.models import ARRAY_TRANSITIONS, Job, JobStatus, Resources
from runner.store import Store
from runner.store.quotas import RESOURCES, demand_of

JOB, CONTAINER, CAPSULE, INSTANCE = "job", "container", "capsule", "instance"
QUEUED_KINDS = (JOB, INSTANCE)
VM_OVERHEAD_MB = 112  # what a VM's QEMU (TCG) holds beyond the memory asked for (99 MiB measured, benchmarks/RESULTS.md)
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
    queued_at: float = field(default_factory=time.monotonic)  # when placement took it in (latency metric)


def _demand(record: Job | Container | Capsule | Instance) -> Demand:
    if isinstance(record, Instance):
        d = record.demand()
        return Demand(cpu=d.cpu, memory_mb=d.memory_mb, disk_gb=d.disk_gb, runtime=record.spec.runtime)
    d = record.demand()
    spec = getattr(record, "spec", {})  # Zun containers carry hints and a requested host
    labels = tuple(tuple(h.removeprefix("label:").split("=", 1)) for h in (spec.get("hints") or {}).values() if isinstance(h, str) and h.startswith("label:") and "=" in h)
    labels += tuple((k.removeprefix("label:"), str(v)) for k, v in (spec.get("hints") or {}).items() if k.startswith("label:"))
    cap = record.capsule
    if cap.runtime == "nova":  # it runs on a Nova server: the host gives it no cpu, memory or disk (quotas still count it)
        d = Resources(cpu=0.0, memory_mb=0, disk_gb=0.0, pids=d.pids)
    return Demand(
        cpu=d.cpu, memory_mb=d.memory_mb + (VM_OVERHEAD_MB if cap.runtime == "vm" else 0), disk_gb=d.disk_gb, runtime=cap.runtime, host=spec.get("host"), labels=labels, dedicated=cap.cpu_policy == "dedicated",
        hugepages_2m=d.hugepages_2m_pages, hugepages_1g=d.hugepages_1g_pages,
        labels_of_capsule=tuple(sorted(cap.labels.items())), affinity=cap.affinity, anti_affinity=cap.anti_affinity, project_id=record.project_id,
    )


def from_job(job: Job) -> Request:
    return Request(JOB, job.id, _demand(job), job.trace_context, job.not_before, job.host, job.project_id, demand_of(job.capsule), job.parent_id, job.parallelism)


def from_container(c: Container) -> Request:
    return Request(CONTAINER, c.uuid, _demand(c), c.trace_context, None, c.host, c.project_id, demand_of(c.capsule))


def from_capsule(c: Capsule) -> Request:
    return Request(CAPSULE, c.uuid, _demand(c), c.trace_context, None, c.host, c.project_id, demand_of(c.capsule))


def from_instance(i: Instance) -> Request:
    return Request(INSTANCE, i.uuid, _demand(i), i.trace_context, None, i.host, i.project_id, demand_of(capsule_of(i)))


def load(store: Store, kind: str, obj_id: str) -> Request | None:
    """The request if the object still waits for a host."""
    try:
        if kind == JOB:
            job = store.jobs.get_job(obj_id)
            return from_job(job) if job.status is JobStatus.QUEUED and not job.is_array else None
        if kind == INSTANCE:
            inst = store.functions.get_instance(obj_id)
            return from_instance(inst) if inst.status is InstanceStatus.CREATING and inst.host is None else None
        if kind == CAPSULE:
            cap = store.capsules.get_capsule(obj_id)
            return from_capsule(cap) if cap.status is ContainerStatus.CREATING and cap.host is None else None
        c = store.containers.get_container(obj_id)
        return from_container(c) if c.status is ContainerStatus.CREATING and c.host is None else None
    except NotFound:
        return None


def waiting(store: Store) -> list[Request]:
    jobs = [from_job(j) for j in store.jobs.jobs_with_status([JobStatus.QUEUED]) if not j.is_array]  # an array's parent never runs itself
    containers = [from_container(c) for c in store.containers.list_containers(project_id=None, statuses=[ContainerStatus.CREATING]) if c.host is None]
    caps = [from_capsule(c) for c in store.capsules.list_capsules(project_id=None, statuses=[ContainerStatus.CREATING]) if c.host is None]
    instances = [from_instance(i) for i in store.functions.list_instances(statuses=[InstanceStatus.CREATING]) if i.host is None]
    return jobs + containers + caps + instances


def holding(store: Store) -> list[Request]:
    """Everything that holds resources on a host now."""
    jobs = [from_job(j) for j in store.jobs.jobs_with_status(_ACTIVE_JOBS) if j.host and not j.is_array]
    containers = [from_container(c) for c in store.containers.list_containers(project_id=None) if c.host]
    caps = [from_capsule(c) for c in store.capsules.list_capsules(project_id=None) if c.host]
    instances = [from_instance(i) for i in store.functions.list_instances(statuses=[InstanceStatus.CREATING, InstanceStatus.READY, InstanceStatus.STOPPING]) if i.host]
    return jobs + containers + caps + instances


def claim(store: Store, req: Request, host: str) -> Job | Container | Capsule | Instance | None:
    """Record the placement; None if the object no longer waits (cancelled, deleted)."""
    try:
        if req.kind == JOB:
            return store.jobs.transition_job(req.id, JobStatus.PLACED, reason=f"placed on {host}", only_from=[JobStatus.QUEUED], host=host)
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
        return store.capsules.update_capsule(req.id, only_in=[ContainerStatus.CREATING], status_reason=reason) is not None
    if req.kind == INSTANCE:
        return store.functions.update_instance(req.id, only_in=[InstanceStatus.CREATING], status_reason=reason) is not None
    return store.containers.update_container(req.id, only_in=[ContainerStatus.CREATING], status_reason=reason) is not None


def quota_block(req: Request, used: dict[str, float], limits: dict[str, float]) -> str | None:
    """Why a job must wait for its project's quota, or None if it fits.

    Zun containers and capsules were admitted when created; jobs and function
    instances are admitted here, when they would start, so they wait instead
    of failing.
    """
    if req.kind not in QUEUED_KINDS:
        return None
    for res in RESOURCES:
        if limits[res] >= 0 and used[res] + req.quota.get(res, 0) > limits[res]:
            return f"waiting for quota: {res} {used[res]:g} of {limits[res]:g} in use, {req.quota.get(res, 0):g} asked"
    return None


def replace_lost(store: Store, req: Request, reason: str) -> Request | None:
    """A Zun container, capsule or function instance whose host was lost.

    One with a restart policy (Zun's ``always``/``unless-stopped``/``on-failure``;
    a capsule's ``always``/``on-failure``) is created again on another host: it
    waits for placement anew (returned). Others become ``Unknown``, as in Zun; a
    function instance is marked Failed and the function actor replaces it.
    """
    if req.kind == CONTAINER:
        c = store.containers.get_container(req.id)
        if ((c.spec.get("restart_policy") or {}).get("Name") or "no") != "no":
            moved = store.containers.update_container(
                req.id, status=ContainerStatus.CREATING, task_state=None, host=None, container_id=None,
                start_on_create=c.start_on_create or c.status is ContainerStatus.RUNNING, status_reason=f"{reason}; creating it again elsewhere (restart policy)",
            )
            return from_container(moved) if moved else None
        store.containers.update_container(req.id, status=ContainerStatus.UNKNOWN, task_state=None, status_reason=reason)
    elif req.kind == CAPSULE:
        cap = store.capsules.get_capsule(req.id)
        if cap.restart_policy in ("always", "on-failure"):
            moved = store.capsules.update_capsule(req.id, status=ContainerStatus.CREATING, host=None, status_reason=f"{reason}; creating it again elsewhere (restart policy)")
            return from_capsule(moved) if moved else None
        store.capsules.update_capsule(req.id, status=ContainerStatus.UNKNOWN, status_reason=reason)
    elif req.kind == INSTANCE:
        store.functions.update_instance(req.id, status=InstanceStatus.FAILED, status_reason=reason)
    return None


def settle_array(store: Store, parent_id: str, now: float) -> list[Job]:
    """Decide an array from its tasks; returns the tasks to cancel (after a final failure).

    All tasks succeeded: the array succeeded. A task that failed for good (the
    shared backoff_limit is spent): the array failed and the others are cancelled.
    """
    parent = store.jobs.get_job(parent_id)
    if parent.status.is_terminal():
        return []
    tasks = store.jobs.tasks_of(parent_id)
    failed = [t for t in tasks if t.status in (JobStatus.FAILED, JobStatus.TIMED_OUT)]
    if failed:
        t = failed[0]
        reason = f"task {t.task_index} {t.status.value} ({t.status_reason}); backoff limit {parent.backoff_limit} reached"
        store.jobs.transition_job(parent_id, JobStatus.FAILED, reason=reason, table=ARRAY_TRANSITIONS, finished_at=now)
        return [t for t in tasks if not t.status.is_terminal()]
    if tasks and all(t.status is JobStatus.SUCCEEDED for t in tasks):
        store.jobs.transition_job(parent_id, JobStatus.SUCCEEDED, reason=f"all {len(tasks)} tasks succeeded", table=ARRAY_TRANSITIONS, only_from=[JobStatus.RUNNING], finished_at=now, exit_code=0)
    return []
