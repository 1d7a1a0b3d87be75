"""Pure decisions of a job's lifecycle, over records read from the store.

Each returns the transition to make (a ``Step``) and the placement actor
applies it with the store's compare-and-set: the decision is testable without
Ray, Docker or a store, and a concurrent change still wins or loses cleanly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.models import Job, JobStatus


@dataclass(frozen=True, slots=True)
class Step:
    """A transition to make: the new status, why, and other columns set with it."""

    status: JobStatus
    reason: str
    fields: dict[str, Any] = field(default_factory=dict)  # host, finished_at, exit_code
    only_from: tuple[JobStatus, ...] | None = (
        None  # narrower than the transition table (compare-and-set)
    )


def after_host_lost(job: Job, host: str, *, now: float) -> Step | None:
    """A job whose host was declared lost; None if it no longer holds that host (ended, or moved on).

    One whose cancellation was asked ends Cancelled (nothing is left to stop).
    Others are placed again while they have an attempt left: a lost host is not
    the job's fault, so it gets one attempt beyond its ``max_retries``. Else it fails.
    """
    if not job.status.is_active() or job.host != host:
        return None
    if job.cancel_requested:
        return Step(
            JobStatus.CANCELLED, f"cancelled by user; host {host} lost", {"finished_at": now}
        )
    if job.attempt <= job.max_retries + 1:
        return Step(JobStatus.QUEUED, f"host {host} lost; placing again", {"host": None})
    return Step(
        JobStatus.FAILED, f"host {host} lost and no attempts are left", {"finished_at": now}
    )


def releases_claim(claim_host: str | None, reporter: str | None) -> bool:
    """Fencing of "finished" reports: only the host that holds the claim (or the store, ``reporter`` None)
    releases it. A host declared lost that comes back reports its old attempt's end; the job's new
    placement elsewhere keeps its claim."""
    return reporter is None or claim_host == reporter


def settle_array(parent: Job, tasks: Sequence[Job], *, now: float) -> tuple[Step | None, list[Job]]:
    """An array's status from its tasks: (the parent's transition or None, the tasks to cancel).

    A task failed or timed out for good (it ends only when the shared
    ``backoff_limit`` is spent): the array fails and its unfinished tasks are
    cancelled. Every task succeeded: the array succeeded. Every task ended and
    some were cancelled (one by one, by their owner): the array is cancelled.
    Otherwise it goes on.
    """
    if parent.status.is_terminal():
        return None, []
    failed = [t for t in tasks if t.status in (JobStatus.FAILED, JobStatus.TIMED_OUT)]
    if failed:
        t = failed[0]
        reason = f"task {t.task_index} {t.status.value} ({t.status_reason}); backoff limit {parent.backoff_limit} reached"
        return Step(JobStatus.FAILED, reason, {"finished_at": now}), [
            t for t in tasks if not t.status.is_terminal()
        ]
    if not tasks or not all(t.status.is_terminal() for t in tasks):
        return None, []
    cancelled = [t for t in tasks if t.status is JobStatus.CANCELLED]
    if cancelled:
        indexes = ", ".join(str(t.task_index) for t in cancelled)
        return Step(JobStatus.CANCELLED, f"task(s) {indexes} cancelled", {"finished_at": now}), []
    done = {"finished_at": now, "exit_code": 0}
    return Step(
        JobStatus.SUCCEEDED,
        f"all {len(tasks)} tasks succeeded",
        done,
        only_from=(JobStatus.RUNNING,),
    ), []
