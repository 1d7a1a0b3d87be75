"""Retry backoff: bounded below and above, exponential in between, jittered."""

from __future__ import annotations

import random

import pytest

from policies.retry import backoff_s


@pytest.mark.parametrize("attempt", [1, 2, 5, 10, 30])
def test_jitter_stays_between_half_the_base_and_the_ceiling(attempt):
    ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))
    draws = [backoff_s(attempt, base_s=2.0, max_s=60.0) for _ in range(200)]
    assert all(1.0 <= d <= ceiling for d in draws), (min(draws), max(draws))
    assert max(draws) - min(draws) > 0.1 * (
        ceiling - 1.0
    )  # jittered: many failed jobs do not retry in step


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        pytest.param(1, 0.0, 0.5, id="first-retry-floor"),
        pytest.param(1, 1.0, 1.0, id="first-retry-ceiling-is-the-base"),
        pytest.param(3, 1.0, 4.0, id="ceiling-doubles-per-attempt"),
        pytest.param(3, 0.5, 2.25, id="uniform-in-between"),
        pytest.param(7, 1.0, 60.0, id="capped-by-max"),
        pytest.param(0, 1.0, 1.0, id="attempt-0-is-the-first"),
    ],
)
def test_backoff_values(attempt, rand, expected):
    assert backoff_s(attempt, base_s=1.0, max_s=60.0, rand=rand) == pytest.approx(expected)


def test_a_job_retried_thousands_of_times_still_gets_the_cap():
    # 2 ** 2000 does not fit a float: the delay must still come out as the cap, not an OverflowError
    assert backoff_s(2000, base_s=1.0, max_s=60.0, rand=1.0) == 60.0


@pytest.mark.parametrize("rand", [0.0, 0.5, 1.0])
def test_max_below_half_the_base_still_caps_the_delay(rand):
    assert backoff_s(1, base_s=10.0, max_s=2.0, rand=rand) == 2.0


def test_the_random_draw_is_used_when_none_is_given():
    random.seed(7)
    first = backoff_s(4, base_s=1.0, max_s=60.0)
    random.seed(7)
    assert backoff_s(4, base_s=1.0, max_s=60.0) == first
    assert backoff_s(4, base_s=1.0, max_s=60.0, rand=random.Random(7).random()) == first
