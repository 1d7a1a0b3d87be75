"""A job as a store row and back: the mapping ``JobQueries`` reads and writes with."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import sqlalchemy as sa

from runner.models import CapsuleSpec, Job, JobStatus


def row_to_job(row: sa.Row) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        project_id=m["project_id"],
        user_id=m["user_id"],
        name=m["name"],
        submission_id=m["submission_id"],
        status=JobStatus(m["status"]),
        status_reason=m["status_reason"],
        capsule=CapsuleSpec.from_dict(m["capsule"]),
        timeout_s=m["timeout_s"],
        max_retries=m["max_retries"],
        attempt=m["attempt"],
        host=m["host"],
        exit_code=m["exit_code"],
        not_before=m["not_before"],
        cancel_requested=bool(m["cancel_requested"]),
        trace_context=dict(m["trace_context"] or {}),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        completions=m["completions"],
        parallelism=m["parallelism"],
        backoff_limit=m["backoff_limit"],
        retries_used=m["retries_used"],
        parent_id=m["parent_id"],
        task_index=m["task_index"],
    )


def insert_values(job: Job, now: float) -> dict[str, Any]:
    return {
        "id": job.id,
        "project_id": job.project_id,
        "user_id": job.user_id,
        "name": job.name,
        "submission_id": job.submission_id,
        "status": job.status.value,
        "status_reason": job.status_reason,
        "capsule": job.capsule.to_dict(),
        "timeout_s": job.timeout_s,
        "max_retries": job.max_retries,
        "attempt": 0,
        "cancel_requested": False,
        "trace_context": job.trace_context,
        "created_at": now,
        "updated_at": now,
        "completions": job.completions,
        "parallelism": job.parallelism,
        "backoff_limit": job.backoff_limit,
        "retries_used": 0,
        "parent_id": job.parent_id,
        "task_index": job.task_index,
    }


class NewJob(NamedTuple):
    """One submission to commit: the job, an array's tasks, the project's queued-jobs cap."""

    job: Job
    tasks: tuple[Job, ...] = ()
    max_queued: int = -1


def as_inserted(job: Job, now: float) -> Job:
    """The job as ``get_job`` would read it back right after ``insert_values`` wrote it."""
    return dataclasses.replace(
        job,
        attempt=0,
        host=None,
        exit_code=None,
        not_before=None,
        cancel_requested=False,
        created_at=now,
        updated_at=now,
        started_at=None,
        finished_at=None,
        retries_used=0,
    )
