"""Cancelling one task of an array over a real store (SQLite): the array is decided when no
node will report that task's end."""

from __future__ import annotations

from runner import job_service
from runner.job_spec import build_array
from runner.models import ARRAY_TRANSITIONS, JobStatus

S = JobStatus


def _array(store, completions: int):
    fields = {
        "image": "busybox",
        "resources": {"cpu": 1, "memory_mb": 64},
        "completions": completions,
        "parallelism": 1,
    }
    parent, tasks = build_array(
        fields, project_id="p", user_id="u", submission_id=None, default_timeout_s=None
    )
    store.jobs.create_job(parent, tasks=tasks)
    store.jobs.transition_job(parent.id, S.RUNNING, table=ARRAY_TRANSITIONS, only_from=[S.QUEUED])
    return parent, tasks


def _succeed(store, job_id: str) -> None:
    for status in (S.PLACED, S.STARTING, S.RUNNING, S.SUCCEEDED):
        store.jobs.transition_job(job_id, status, host="h1")


def test_cancelling_the_last_waiting_task_ends_the_array(sqlite_store):
    parent, (first, waiting) = _array(sqlite_store, 2)
    _succeed(sqlite_store, first.id)
    task, placed = job_service.cancel(sqlite_store, waiting.id, project_id="p")
    assert (task.status, placed) == (S.CANCELLED, [])
    array = sqlite_store.jobs.get_job(parent.id)
    assert (array.status, array.status_reason) == (S.CANCELLED, "task(s) 1 cancelled")


def test_cancelling_a_waiting_task_while_others_go_on_leaves_the_array_running(sqlite_store):
    parent, (first, waiting, third) = _array(sqlite_store, 3)
    _succeed(sqlite_store, first.id)
    job_service.cancel(sqlite_store, waiting.id, project_id="p")
    assert sqlite_store.jobs.get_job(parent.id).status is S.RUNNING
    _succeed(sqlite_store, third.id)
    job_service.settle_array(
        sqlite_store, parent.id, now=5.0
    )  # what placement does when the third task's node reports
    array = sqlite_store.jobs.get_job(parent.id)
    assert (array.status, array.finished_at) == (S.CANCELLED, 5.0)
