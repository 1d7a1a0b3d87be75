"""Per-project caps that keep one project from crowding out the others (fair share).

Each cap is a quota resource whose default is a setting; a project's own quota
row (``PUT /v1/quotas/{project}`` by an admin) overrides it; -1 means no cap.
Caps on what a project keeps (its schedules, an array's size, a schedule's
rhythm) answer 403 when passed; caps on work that drains by itself (queued
jobs and invocations, open log streams) answer 429 with ``Retry-After``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from policies.schedule import BadSchedule, shortest_interval_s
from runner.errors import InvalidSpec, OverQuota
from runner.settings import Settings

#: quota resource -> the setting holding its default
CAPS: dict[str, str] = {
    "queued_jobs": "max_queued_jobs_per_project",
    "completions": "max_completions_per_job",
    "schedules": "max_schedules_per_project",
    "schedule_interval_s": "min_schedule_interval_s",
    "log_followers": "max_log_followers_per_project",
    "async_invocations": "max_async_invocations_per_project",
}

#: how long a throttled caller is told to wait before trying again
RETRY_AFTER_S = 5.0


def caps_of(store, settings: Settings, project_id: str) -> dict[str, int]:  # noqa: ANN001
    """The project's caps: its own quota rows over the settings' defaults."""
    defaults = {res: int(getattr(settings, name)) for res, name in CAPS.items()}
    return {**defaults, **store.quotas.quota_overrides(project_id, tuple(CAPS))}


def check_completions(caps: dict[str, int], completions: int) -> None:
    cap = caps["completions"]
    if 0 <= cap < completions:
        raise OverQuota(
            f"Quota exceeded for resources: ['completions'] ({completions} tasks asked, at most {cap})",
            field="completions",
        )


def check_schedules(caps: dict[str, int], existing: int) -> None:
    """One more schedule must fit beside the project's ``existing`` ones."""
    cap = caps["schedules"]
    if 0 <= cap <= existing:
        raise OverQuota(f"Quota exceeded for resources: ['schedules'] ({existing} of {cap} in use)")


def check_interval(caps: dict[str, int], cron: str, *, now: datetime | None = None) -> None:
    """A schedule fires at most once per ``schedule_interval_s``."""
    floor_s = caps["schedule_interval_s"]
    if floor_s <= 0:
        return
    try:
        gap_s = shortest_interval_s(cron, after=now or datetime.now(timezone.utc))
    except BadSchedule as exc:
        raise InvalidSpec(str(exc), field="cron") from None
    if gap_s < floor_s:
        raise OverQuota(
            f"Quota exceeded for resources: ['schedule_interval_s'] ({cron!r} fires {gap_s:g} s apart, at least {floor_s} s)",
            field="cron",
        )
