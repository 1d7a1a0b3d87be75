"""One quota rule for every kind: what is over, and why a queued capsule waits."""

from __future__ import annotations

import pytest

from policies.quota import over_quota, quota_wait_reason

LIMITS = {"containers": 10, "cpu": 4, "memory": 1024, "disk": -1}
USED = {"containers": 2, "cpu": 3.5, "memory": 512, "disk": 500}


@pytest.mark.parametrize(
    ("asked", "over"),
    [
        pytest.param(
            {"containers": 1, "cpu": 0.5, "memory": 512}, [], id="exactly-at-the-limit-fits"
        ),
        pytest.param({"containers": 1, "cpu": 0.6, "memory": 100}, ["cpu"], id="cpu-over"),
        pytest.param(
            {"containers": 9, "cpu": 1, "memory": 513},
            ["containers", "cpu", "memory"],
            id="several-in-order",
        ),
        pytest.param({"disk": 10_000}, [], id="minus-one-is-unlimited"),
        pytest.param({}, [], id="nothing-asked"),
    ],
)
def test_over_quota(asked, over):
    assert over_quota(USED, asked, LIMITS) == over


def test_a_zero_limit_refuses_anything_asked_but_not_nothing():
    limits = {**LIMITS, "cpu": 0}
    used = {**USED, "cpu": 0}
    assert over_quota(used, {"cpu": 0.1}, limits) == ["cpu"]
    assert over_quota(used, {"cpu": 0}, limits) == []


def test_the_wait_reason_names_the_first_resource_over_with_figures():
    reason = quota_wait_reason(USED, {"containers": 1, "cpu": 1, "memory": 600}, LIMITS)
    assert reason == "waiting for quota: cpu 3.5 of 4 in use, 1 asked"
    assert quota_wait_reason(USED, {"cpu": 0.5}, LIMITS) is None
