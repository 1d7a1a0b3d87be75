"""Cron arithmetic for schedules: which fire times are due, which were missed.

Pure: the clock is a parameter. Fire times are computed in the schedule's
time zone (so "30 2 * * *" follows daylight-saving changes: a skipped 02:30
fires at 03:00, a repeated one fires once) and returned in UTC. After
downtime at most one catch-up run starts, the newest one inside the starting
deadline; older ones are recorded as Missed (the first ``max_missed`` of
them, and how many more) — no storm of old runs, no dead end.

Six-field expressions put seconds first (``*/5 * * * * *``: every 5 s).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterError

MAX_MISSED = 100


class BadSchedule(ValueError):
    """An invalid cron expression or time zone (the message names which)."""


@dataclass(frozen=True, slots=True)
class Plan:
    start: datetime | None  # the fire time to start now, if any
    missed: list[datetime] = field(default_factory=list)  # fire times given up, oldest first
    more_missed: int = (
        0  # about how many more were missed beyond ``missed`` (estimated, not listed)
    )
    checked_until: datetime | None = None  # everything up to here is decided


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadSchedule(f"unknown time zone {name!r}") from exc


def _iter(cron: str, tz: ZoneInfo, start: datetime) -> croniter:
    fields = cron.split()
    if len(fields) not in (5, 6):
        raise BadSchedule(f"cron expression {cron!r} needs 5 fields (or 6 with seconds first)")
    try:
        return croniter(cron, start.astimezone(tz), second_at_beginning=len(fields) == 6)
    except (CroniterError, ValueError, KeyError) as exc:
        raise BadSchedule(f"invalid cron expression {cron!r}: {exc}") from exc


def validate(cron: str, time_zone: str) -> None:
    """BadSchedule unless the expression parses and fires at least once (``0 0 30 2 *`` parses, never fires)."""
    try:
        _iter(cron, zone(time_zone), datetime.now(timezone.utc)).get_next(datetime)
    except CroniterError as exc:  # croniter gives up after searching some 50 years ahead
        raise BadSchedule(f"cron expression {cron!r} never fires") from exc


def next_fire(cron: str, time_zone: str, after: datetime) -> datetime:
    return _iter(cron, zone(time_zone), after).get_next(datetime).astimezone(timezone.utc)


def shortest_interval_s(cron: str, *, after: datetime, fires: int = 16) -> float:
    """The shortest gap between consecutive fire times among the next ``fires`` after ``after``.

    Enough to see the fastest rhythm of any expression whose fields repeat
    within a day ("0,1 3 * * *" shows its 60 s gap; "*/5 * * * * *" its 5 s).
    Counted in UTC: a daylight-saving change would make an every-2-hours
    expression look hourly on one night of the year.
    """
    it = _iter(cron, ZoneInfo("UTC"), after)
    try:
        times = [it.get_next(datetime).astimezone(timezone.utc) for _ in range(fires)]
    except (
        CroniterError,
        ValueError,
    ) as exc:  # an expression that stops firing (a date that never comes)
        raise BadSchedule(f"cron expression {cron!r} does not fire: {exc}") from exc
    return min((b - a).total_seconds() for a, b in zip(times, times[1:]))


def plan(
    cron: str,
    time_zone: str,
    *,
    last: datetime,
    now: datetime,
    starting_deadline_s: float | None,
    max_missed: int = MAX_MISSED,
) -> Plan:
    """Fire times in (last, now]: the newest starts if inside the deadline; the rest are missed."""
    tz = zone(time_zone)
    it = _iter(cron, tz, last)
    due: list[datetime] = []
    more = 0
    last_wall = last.astimezone(tz).replace(tzinfo=None)
    while True:
        local = it.get_next(datetime)
        t = local.astimezone(timezone.utc)
        if t > now:
            break
        wall = local.replace(tzinfo=None)
        if wall == last_wall:
            continue  # the repeated hour when clocks fall back: that wall time already fired
        last_wall = wall
        if len(due) > max_missed:  # long downtime: stop listing, jump to the newest fire time
            newest = (
                _iter(cron, tz, now + timedelta(microseconds=1))
                .get_prev(datetime)
                .astimezone(timezone.utc)
            )
            more = _estimate_between(t, newest, period=t - due[-1])
            due.append(newest)
            break
        due.append(t)
    if not due:
        return Plan(start=None, checked_until=now)
    newest = due[-1]
    older = due[:-1]
    in_time = starting_deadline_s is None or (now - newest).total_seconds() <= starting_deadline_s
    if not in_time:
        older.append(newest)
    listed, extra = older[:max_missed], len(older) - min(len(older), max_missed)
    return Plan(
        start=newest if in_time else None,
        missed=listed,
        more_missed=extra + more,
        checked_until=now,
    )


def _estimate_between(first: datetime, last: datetime, *, period: timedelta) -> int:
    """About how many fire times lie in [first, last), from the recent period (for the summary)."""
    if period.total_seconds() <= 0:
        return 0
    return int((last - first) / period)


def concurrency(policy: str, *, active: bool) -> str:
    """What to do with a due run: start, skip (Forbid) or replace (Replace)."""
    if not active or policy == "Allow":
        return "start"
    return "skip" if policy == "Forbid" else "replace"


def history_to_delete(
    ended: Iterable[tuple[str, bool]], *, successful_limit: int, failed_limit: int
) -> list[str]:
    """The ended jobs of a schedule to delete: given (job id, succeeded) newest first, all
    but the newest ``successful_limit`` that succeeded and ``failed_limit`` that did not
    (failed, timed out or cancelled), as Kubernetes' CronJob history limits."""
    kept = {True: 0, False: 0}
    limits = {True: successful_limit, False: failed_limit}
    doomed = []
    for job_id, succeeded in ended:
        kept[succeeded] += 1
        if kept[succeeded] > limits[succeeded]:
            doomed.append(job_id)
    return doomed
