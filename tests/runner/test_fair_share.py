"""Fair-share caps: the settings' defaults, a project's own quota rows over them, and the checks."""

from __future__ import annotations

import uuid

import pytest

from runner.errors import InvalidSpec, OverQuota, Throttled
from runner.fair_share import caps_of, check_completions, check_interval, check_schedules
from runner.functions.model import InvocationStatus
from runner.models import CapsuleSpec, ContainerSpec, Job
from runner.settings import Settings


def _job(project: str = "p1", **kw) -> Job:  # noqa: ANN003
    return Job(
        id=str(uuid.uuid4()),
        project_id=project,
        user_id="u",
        capsule=CapsuleSpec(containers=(ContainerSpec("busybox"),)),
        **kw,
    )


def test_a_projects_own_quota_row_overrides_the_setting(sqlite_store, tmp_path):
    settings = Settings(
        data_dir=tmp_path, max_queued_jobs_per_project=7, min_schedule_interval_s=60
    )
    sqlite_store.quotas.set_quota("p2", {"queued_jobs": 2, "schedule_interval_s": -1})
    assert caps_of(sqlite_store, settings, "p1")["queued_jobs"] == 7
    assert caps_of(sqlite_store, settings, "p2")["queued_jobs"] == 2
    assert caps_of(sqlite_store, settings, "p2")["schedule_interval_s"] == -1
    assert sqlite_store.quotas.quota("p2") == sqlite_store.quotas.quota(
        "p1"
    )  # Zun's resources are untouched


def test_queued_jobs_past_the_cap_are_throttled_per_project(sqlite_store):
    for _ in range(3):
        sqlite_store.jobs.create_job(_job(), max_queued=3)
    with pytest.raises(Throttled) as exc:
        sqlite_store.jobs.create_job(_job(), max_queued=3)
    assert exc.value.retry_after_s > 0
    sqlite_store.jobs.create_job(_job("p2"), max_queued=3)  # p1's backlog is p1's alone
    with pytest.raises(Throttled):  # an array's tasks count one by one
        parent = _job("p2", completions=3)
        sqlite_store.jobs.create_job(
            parent,
            tasks=[_job("p2", parent_id=parent.id, task_index=i) for i in range(3)],
            max_queued=3,
        )


def test_a_replayed_submission_is_not_throttled(sqlite_store):
    first, _ = sqlite_store.jobs.create_job(_job(submission_id="k"), max_queued=1)
    again, created = sqlite_store.jobs.create_job(_job(submission_id="k"), max_queued=1)
    assert again.id == first.id and not created


def test_async_invocations_past_the_cap_are_throttled(sqlite_store):
    def invocation(project: str) -> dict:
        return {
            "uuid": str(uuid.uuid4()),
            "function_uuid": "f",
            "function_name": "f",
            "project_id": project,
            "user_id": "u",
            "payload": b"",
        }

    first = sqlite_store.functions.create_invocation(invocation("p1"), max_queued=2)
    sqlite_store.functions.create_invocation(invocation("p1"), max_queued=2)
    with pytest.raises(Throttled):
        sqlite_store.functions.create_invocation(invocation("p1"), max_queued=2)
    sqlite_store.functions.create_invocation(invocation("p2"), max_queued=2)
    sqlite_store.functions.transition_invocation(
        first["uuid"], InvocationStatus.RUNNING, reason="running"
    )
    with pytest.raises(Throttled):  # running (perhaps waiting for an instance) has not ended
        sqlite_store.functions.create_invocation(invocation("p1"), max_queued=2)
    sqlite_store.functions.transition_invocation(
        first["uuid"], InvocationStatus.SUCCEEDED, reason="returned"
    )
    sqlite_store.functions.create_invocation(
        invocation("p1"), max_queued=2
    )  # one ended: room for one


def test_schedules_past_the_cap_are_refused(sqlite_store):
    def schedule(project: str) -> dict:
        return {
            "uuid": str(uuid.uuid4()),
            "name": "s",
            "project_id": project,
            "user_id": "u",
            "cron": "0 3 * * *",
            "time_zone": "UTC",
            "job": {},
            "concurrency_policy": "Allow",
            "starting_deadline_s": None,
            "successful_history_limit": 3,
            "failed_history_limit": 1,
            "suspend": False,
        }

    sqlite_store.schedules.create_schedule(schedule("p1"), max_count=1)
    with pytest.raises(OverQuota):
        sqlite_store.schedules.create_schedule(schedule("p1"), max_count=1)
    sqlite_store.schedules.create_schedule(schedule("p2"), max_count=1)


@pytest.mark.parametrize(
    ("cron", "floor_s", "refused"),
    [
        pytest.param("*/5 * * * * *", 60, True, id="every-5s-under-a-minute-floor"),
        pytest.param("0,1 3 * * *", 120, True, id="a-burst-once-a-day-counts"),
        pytest.param("* * * * *", 60, False, id="every-minute-at-the-floor"),
        pytest.param("*/5 * * * * *", -1, False, id="no-floor"),
    ],
)
def test_schedule_interval_floor(cron, floor_s, refused):
    caps = {"schedule_interval_s": floor_s}
    if refused:
        with pytest.raises(OverQuota):
            check_interval(caps, cron)
    else:
        check_interval(caps, cron)


def test_a_cron_that_never_fires_is_a_bad_request():
    with pytest.raises(InvalidSpec):
        check_interval({"schedule_interval_s": 60}, "0 0 30 2 *")


def test_counted_caps():
    check_completions({"completions": 10}, 10)
    with pytest.raises(OverQuota):
        check_completions({"completions": 10}, 11)
    check_completions({"completions": -1}, 1000)
    check_schedules({"schedules": 2}, 1)
    with pytest.raises(OverQuota):
        check_schedules({"schedules": 2}, 2)
