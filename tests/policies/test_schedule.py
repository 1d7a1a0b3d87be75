from __future__ import annotations

from datetime import datetime, timezone

import pytest

from policies.schedule import (
    BadSchedule,
    concurrency,
    history_to_delete,
    plan,
    shortest_interval_s,
    validate,
)

UTC = timezone.utc


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_nothing_due_before_the_next_fire_time():
    p = plan(
        "0 * * * *",
        "UTC",
        last=t(2026, 1, 1, 10, 0),
        now=t(2026, 1, 1, 10, 59),
        starting_deadline_s=60,
    )
    assert p.start is None and p.missed == []


def test_the_due_run_starts():
    p = plan(
        "0 * * * *",
        "UTC",
        last=t(2026, 1, 1, 10, 0),
        now=t(2026, 1, 1, 11, 0, 5),
        starting_deadline_s=60,
    )
    assert p.start == t(2026, 1, 1, 11, 0) and p.missed == []


def test_after_downtime_one_catch_up_inside_the_deadline_and_the_rest_missed():
    p = plan(
        "*/10 * * * *",
        "UTC",
        last=t(2026, 1, 1, 10, 0),
        now=t(2026, 1, 1, 10, 45),
        starting_deadline_s=600,
    )
    assert p.start == t(2026, 1, 1, 10, 40)
    assert p.missed == [t(2026, 1, 1, 10, 10), t(2026, 1, 1, 10, 20), t(2026, 1, 1, 10, 30)]


def test_a_run_past_its_deadline_is_missed_not_started():
    p = plan(
        "0 * * * *",
        "UTC",
        last=t(2026, 1, 1, 10, 0),
        now=t(2026, 1, 1, 11, 30),
        starting_deadline_s=60,
    )
    assert p.start is None and p.missed == [t(2026, 1, 1, 11, 0)]


def test_a_week_of_downtime_at_one_run_per_second_stays_bounded():
    p = plan(
        "* * * * * *",
        "UTC",
        last=t(2026, 1, 1),
        now=t(2026, 1, 8),
        starting_deadline_s=5,
        max_missed=10,
    )
    assert p.start == t(2026, 1, 8)
    assert len(p.missed) == 10 and p.more_missed > 600_000 - 20


@pytest.mark.parametrize(
    "last, now, expected",
    [
        # Europe/Berlin springs forward on 2026-03-29: 02:30 does not exist, it fires at 03:00 CEST = 01:00 UTC
        (t(2026, 3, 28, 12), t(2026, 3, 29, 1, 0, 1), t(2026, 3, 29, 1, 0)),
        # and falls back on 2026-10-25: 02:30 happens twice, it fires once (the first, CEST = 00:30 UTC)
        (t(2026, 10, 24, 12), t(2026, 10, 25, 2, 0), t(2026, 10, 25, 0, 30)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_daylight_saving_changes_in_the_schedules_zone(last, now, expected):
    p = plan("30 2 * * *", "Europe/Berlin", last=last, now=now, starting_deadline_s=None)
    assert p.start == expected and p.missed == []


def test_time_zones_shift_the_fire_time():
    p = plan(
        "0 9 * * *",
        "Asia/Tokyo",
        last=t(2025, 12, 31, 12),
        now=t(2026, 1, 1, 0, 0, 30),
        starting_deadline_s=60,
    )
    assert p.start == t(2026, 1, 1, 0, 0)  # 09:00 in Tokyo


@pytest.mark.parametrize(
    "cron, tz, message",
    [
        ("61 * * * *", "UTC", "invalid cron expression"),
        ("* * *", "UTC", "needs 5 fields"),
        ("* * * * *", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_bad_schedules_name_what_is_wrong(cron, tz, message):
    with pytest.raises(BadSchedule, match=message):
        validate(cron, tz)


@pytest.mark.parametrize(
    "policy, active, expected",
    [
        ("Allow", True, "start"),
        ("Forbid", True, "skip"),
        ("Replace", True, "replace"),
        ("Forbid", False, "start"),
    ],
)
def test_concurrency_policies(policy, active, expected):
    assert concurrency(policy, active=active) == expected


def test_seconds_first_when_six_fields():
    p = plan(
        "*/5 * * * * *",
        "UTC",
        last=t(2026, 1, 1, 0, 0, 0),
        now=t(2026, 1, 1, 0, 0, 6),
        starting_deadline_s=10,
    )
    assert p.start == t(2026, 1, 1, 0, 0, 5)


@pytest.mark.parametrize(
    ("cron", "gap_s"),
    [
        pytest.param("* * * * *", 60, id="every-minute"),
        pytest.param("*/5 * * * * *", 5, id="seconds-field"),
        pytest.param("0,1 3 * * *", 60, id="two-minutes-once-a-day"),
        pytest.param("0 */2 * * *", 7200, id="two-hourly"),
        pytest.param("0 3 * * *", 86400, id="daily"),
    ],
)
def test_shortest_interval(cron, gap_s):
    # 2025-03-30 is a daylight-saving night in Europe: the rhythm is counted in UTC all the same
    assert (
        shortest_interval_s(cron, after=datetime(2025, 3, 30, 0, 0, tzinfo=timezone.utc)) == gap_s
    )


@pytest.mark.parametrize(
    ("ended", "ok_limit", "failed_limit", "deleted"),
    [
        pytest.param(
            [("a", True), ("b", True), ("c", True)],
            2,
            1,
            ["c"],
            id="oldest-success-beyond-the-limit",
        ),
        pytest.param(
            [("a", False), ("b", True), ("c", False), ("d", False)],
            1,
            2,
            ["d"],
            id="kinds-counted-apart",
        ),
        pytest.param([("a", True), ("b", False)], 0, 0, ["a", "b"], id="zero-keeps-none"),
        pytest.param([], 3, 1, [], id="no-history"),
    ],
)
def test_history_limits(ended, ok_limit, failed_limit, deleted):
    assert history_to_delete(ended, successful_limit=ok_limit, failed_limit=failed_limit) == deleted
