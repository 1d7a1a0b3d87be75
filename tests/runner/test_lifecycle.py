"""A job's lifecycle decisions over plain records: host loss, fencing of reports, array settling."""

from __future__ import annotations

import pytest

from runner.lifecycle import after_host_lost, releases_claim, settle_array
from runner.models import CapsuleSpec, ContainerSpec, Job, JobStatus

S = JobStatus
NOW = 1_000.0


def _job(status=S.RUNNING, *, host="h1", attempt=1, max_retries=0, **kw) -> Job:
    return Job(
        id=kw.pop("id", "j"),
        project_id="p",
        user_id="u",
        capsule=CapsuleSpec(containers=(ContainerSpec("busybox"),)),
        status=status,
        host=host,
        attempt=attempt,
        max_retries=max_retries,
        **kw,
    )


# -- a lost host ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "attempt", "max_retries"),
    [
        pytest.param(S.PLACED, 0, 0, id="placed-not-started"),
        pytest.param(S.STARTING, 1, 0, id="starting-first-attempt"),
        pytest.param(S.RUNNING, 1, 0, id="running-no-retries-gets-one-more"),
        pytest.param(S.RUNNING, 3, 2, id="running-last-retry-gets-one-more"),
    ],
)
def test_work_on_a_lost_host_is_placed_again(status, attempt, max_retries):
    step = after_host_lost(_job(status, attempt=attempt, max_retries=max_retries), "h1", now=NOW)
    assert step.status is S.QUEUED
    assert step.fields == {"host": None}
    assert step.reason == "host h1 lost; placing again"


def test_a_job_lost_again_after_its_extra_attempt_fails():
    step = after_host_lost(_job(S.RUNNING, attempt=2, max_retries=0), "h1", now=NOW)
    assert step.status is S.FAILED
    assert step.fields == {"finished_at": NOW}
    assert "no attempts are left" in step.reason


@pytest.mark.parametrize("status", [S.PLACED, S.RUNNING])
def test_work_whose_cancel_was_asked_ends_cancelled_instead_of_moving(status):
    step = after_host_lost(_job(status, cancel_requested=True), "h1", now=NOW)
    assert (step.status, step.reason, step.fields) == (
        S.CANCELLED,
        "cancelled by user; host h1 lost",
        {"finished_at": NOW},
    )


@pytest.mark.parametrize("status", [S.SUCCEEDED, S.FAILED, S.CANCELLED, S.TIMED_OUT, S.QUEUED])
def test_ended_or_queued_work_is_left_alone(status):
    assert after_host_lost(_job(status), "h1", now=NOW) is None


def test_a_job_that_moved_to_another_host_is_left_alone():
    assert after_host_lost(_job(S.RUNNING, host="h2"), "h1", now=NOW) is None


# -- fencing -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("claim_host", "reporter", "releases"),
    [
        pytest.param("h2", "h1", False, id="stale-host-report-ignored"),
        pytest.param("h1", "h1", True, id="holder-releases"),
        pytest.param("h1", None, True, id="store-side-release"),
    ],
)
def test_only_the_holder_releases_a_claim(claim_host, reporter, releases):
    assert releases_claim(claim_host, reporter) is releases


# -- arrays --------------------------------------------------------------------
def _array(status=S.RUNNING, backoff_limit=6) -> Job:
    return _job(
        status, id="arr", host=None, completions=3, parallelism=3, backoff_limit=backoff_limit
    )


def _tasks(*statuses: JobStatus) -> list[Job]:
    return [
        _job(s, id=f"t{i}", parent_id="arr", task_index=i, status_reason=f"r{i}")
        for i, s in enumerate(statuses)
    ]


def test_all_tasks_succeeded_the_array_succeeded():
    step, cancel = settle_array(_array(), _tasks(S.SUCCEEDED, S.SUCCEEDED, S.SUCCEEDED), now=NOW)
    assert (step.status, step.reason, step.fields, step.only_from) == (
        S.SUCCEEDED,
        "all 3 tasks succeeded",
        {"finished_at": NOW, "exit_code": 0},
        (S.RUNNING,),
    )
    assert cancel == []


@pytest.mark.parametrize("running", [S.QUEUED, S.PLACED, S.RUNNING])
def test_an_array_with_unfinished_tasks_and_no_failure_goes_on(running):
    assert settle_array(_array(), _tasks(S.SUCCEEDED, running, S.SUCCEEDED), now=NOW) == (None, [])


@pytest.mark.parametrize("failure", [S.FAILED, S.TIMED_OUT])
def test_a_final_failure_fails_the_array_and_cancels_the_unfinished(failure):
    tasks = _tasks(S.SUCCEEDED, failure, S.RUNNING, S.QUEUED)
    step, cancel = settle_array(_array(backoff_limit=0), tasks, now=NOW)
    assert step.status is S.FAILED
    assert step.reason == f"task 1 {failure.value} (r1); backoff limit 0 reached"
    assert step.only_from is None  # from Queued too: its first task may fail before another starts
    assert [t.id for t in cancel] == ["t2", "t3"]


def test_the_first_failed_task_is_the_one_named():
    step, _ = settle_array(_array(), _tasks(S.RUNNING, S.TIMED_OUT, S.FAILED), now=NOW)
    assert step.reason.startswith("task 1 TimedOut")


def test_tasks_cancelled_one_by_one_end_the_array_once_all_ended():
    assert settle_array(_array(), _tasks(S.CANCELLED, S.RUNNING, S.SUCCEEDED), now=NOW) == (
        None,
        [],
    )
    step, cancel = settle_array(_array(), _tasks(S.CANCELLED, S.SUCCEEDED, S.CANCELLED), now=NOW)
    assert (step.status, step.reason, cancel) == (S.CANCELLED, "task(s) 0, 2 cancelled", [])


@pytest.mark.parametrize("ended", [S.SUCCEEDED, S.FAILED, S.CANCELLED])
def test_an_ended_array_is_not_settled_again(ended):
    assert settle_array(_array(ended), _tasks(S.FAILED, S.RUNNING), now=NOW) == (None, [])


def test_an_array_without_tasks_waits():
    assert settle_array(_array(S.QUEUED), [], now=NOW) == (None, [])
