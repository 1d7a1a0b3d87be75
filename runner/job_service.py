"""Job operations shared by the HTTP routes, the SDK's Ray entrance and placement:
accepting a validated submission, cancelling (an array with its tasks) and
settling an array from its tasks."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from runner import lifecycle
from runner.errors import Conflict
from runner.fair_share import check_completions
from runner.job_spec import build_array, build_job
from runner.models import ARRAY_TRANSITIONS, Job, JobStatus
from runner.secret_refs import check_refs_exist, with_registry
from runner.store import Store
from runner.store.job_rows import NewJob


def accept(
    store: Store,
    fields: dict[str, Any],
    *,
    project_id: str,
    user_id: str,
    submission_id: str | None,
    default_timeout_s: float | None,
    caps: dict[str, int],
    trace_context: dict | None = None,
    commit: Callable[[NewJob], tuple[Job, bool]] | None = None,
) -> tuple[Job, bool, list[Job]]:
    """Commit a submission (validated as ``POST /v1/jobs`` does); (job, created, what to place).

    ``created`` is False when the submission id was seen before: the same job
    comes back and nothing new is placed. ``caps`` are the project's fair-share
    caps (``runner.fair_share.caps_of``): an array's size and the queued jobs.
    ``commit`` (default: ``store.jobs.create_job``) writes it: the gateway's commits many
    callers' submissions in one transaction (``runner.batching``).
    """
    check_completions(caps, fields.get("completions", 1))
    check_refs_exist(store, project_id, fields.get("secrets") or [])
    fields = with_registry(store, project_id, fields)
    common = dict(
        project_id=project_id,
        user_id=user_id,
        submission_id=submission_id,
        default_timeout_s=default_timeout_s,
    )
    tasks: list[Job] = []
    if fields.get("completions", 1) > 1:
        job, tasks = build_array(fields, **common)
    else:
        job = build_job(fields, **common)
    carrier = trace_context or {}
    job = dataclasses.replace(job, trace_context=carrier)
    new = NewJob(
        job,
        tuple(dataclasses.replace(t, trace_context=carrier) for t in tasks),
        caps["queued_jobs"],
    )
    if commit is None:
        job, created = store.jobs.create_job(new.job, tasks=new.tasks, max_queued=new.max_queued)
    else:
        job, created = commit(new)
    return job, created, (tasks or [job]) if created else []


def logs_on_node(job: Job) -> bool:
    """Whether a job's output is read from its node (it runs there) rather than from the store
    (what was kept when it ended; nothing yet while it waits for a host)."""
    return bool(job.host) and job.status.is_active()


def cancel(store: Store, job_id: str, *, project_id: str | None) -> tuple[Job, list[Job]]:
    """Ask a job (and an array's tasks) to stop; (the job, the placed ones to signal)."""
    job = store.jobs.request_cancel(job_id, project_id=project_id)
    targets = [job]
    if (
        job.parent_id and job.status.is_terminal()
    ):  # a task cancelled while it waited: no node will report its end
        settle_array(store, job.parent_id, now=time.time())
    if job.is_array:  # cancelling an array cancels its tasks, then the array itself
        for task in store.jobs.tasks_of(job.id):
            if not task.status.is_terminal():
                try:
                    targets.append(store.jobs.request_cancel(task.id, project_id=None))
                except Conflict:
                    pass  # it just ended
        if job.status is JobStatus.RUNNING:
            job = store.jobs.transition_job(
                job.id,
                JobStatus.CANCELLED,
                reason="cancelled by user",
                table=ARRAY_TRANSITIONS,
                finished_at=time.time(),
            )
    return job, [t for t in targets if t.host and not t.status.is_terminal()]


def settle_array(store: Store, parent_id: str, *, now: float) -> list[Job]:
    """Decide an array from its tasks (``lifecycle.settle_array``); returns the tasks to cancel."""
    step, to_cancel = lifecycle.settle_array(
        store.jobs.get_job(parent_id), store.jobs.tasks_of(parent_id), now=now
    )
    if step is not None:
        store.jobs.transition_job(
            parent_id,
            step.status,
            reason=step.reason,
            table=ARRAY_TRANSITIONS,
            only_from=step.only_from,
            **step.fields,
        )
    return to_cancel
