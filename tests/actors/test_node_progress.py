"""A job's start progress reaches its status reason at a bounded rate, the last word included,
and never after the job moved on (over a real SQLite store, no Ray, no Docker)."""

from __future__ import annotations

import time
import uuid

from actors.node_progress import StartProgress
from runner.models import CapsuleSpec, ContainerSpec, Job, JobStatus

HOST = "h1"


def _starting_job(store) -> Job:  # noqa: ANN001
    job, _ = store.jobs.create_job(
        Job(
            id=str(uuid.uuid4()),
            project_id="p1",
            user_id="u",
            capsule=CapsuleSpec(containers=(ContainerSpec("busybox"),)),
        )
    )
    store.jobs.transition_job(job.id, JobStatus.PLACED, host=HOST)
    return store.jobs.transition_job(job.id, JobStatus.STARTING, reason="starting", attempt=1)


class _CountingJobs:
    """The store's jobs, counting the reason writes."""

    def __init__(self, jobs) -> None:  # noqa: ANN001
        self.jobs, self.writes = jobs, []

    def update_job(self, job_id: str, **fields) -> bool:  # noqa: ANN003
        self.writes.append(fields["status_reason"])
        return self.jobs.update_job(job_id, **fields)


class _Store:
    def __init__(self, store) -> None:  # noqa: ANN001
        self.jobs = _CountingJobs(store.jobs)


def test_a_pull_that_reports_every_chunk_writes_once_an_interval_and_its_last_word(sqlite_store):
    job = _starting_job(sqlite_store)
    store = _Store(sqlite_store)
    progress = StartProgress(store, job.id, fence=(HOST, 1), min_interval_s=1.0)
    for mb in range(200):  # a burst of chunks
        progress(f"pulling x: {mb} MB of 200 MB")
    assert sqlite_store.jobs.get_job(job.id).status_reason == "pulling x: 0 MB of 200 MB"
    progress("booting VM")  # then nothing more: this word must still arrive
    time.sleep(1.3)
    assert sqlite_store.jobs.get_job(job.id).status_reason == "booting VM"
    assert store.jobs.writes == ["pulling x: 0 MB of 200 MB", "booting VM"]
    assert sqlite_store.jobs.events_of(job.id)[-1]["reason"] == "starting"  # no history entry


def test_no_word_after_the_job_runs_or_moved_to_another_attempt(sqlite_store):
    job = _starting_job(sqlite_store)
    StartProgress(sqlite_store, job.id, fence=(HOST, 0))("pulling x")  # an earlier attempt
    StartProgress(sqlite_store, job.id, fence=("h2", 1))("pulling x")  # another host
    assert sqlite_store.jobs.get_job(job.id).status_reason == "starting"
    late = StartProgress(sqlite_store, job.id, fence=(HOST, 1), min_interval_s=0.2)
    late("pulling x")
    late("pulling x: 1.0 MB of 2.0 MB")  # due in 0.2 s
    sqlite_store.jobs.transition_job(job.id, JobStatus.RUNNING, reason="running")
    time.sleep(0.4)
    assert sqlite_store.jobs.get_job(job.id).status_reason == "running"
