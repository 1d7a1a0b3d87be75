"""Restart policies: which Zun containers and capsules outlive a lost host."""

from __future__ import annotations

import pytest

from policies.restart import ZUN_POLICIES, moves_after_host_loss, policy_name


@pytest.mark.parametrize(
    ("value", "name"),
    [
        pytest.param(None, "no", id="absent"),
        pytest.param({}, "no", id="empty"),
        pytest.param({"Name": "", "MaximumRetryCount": "0"}, "no", id="empty-name"),
        pytest.param({"Name": "always", "MaximumRetryCount": "0"}, "always", id="always"),
        pytest.param(
            {"Name": "on-failure", "MaximumRetryCount": "3"}, "on-failure", id="on-failure-3"
        ),
        pytest.param({"Name": "unless-stopped"}, "unless-stopped", id="unless-stopped"),
        pytest.param({"name": "always"}, "always", id="lower-case-key"),
    ],
)
def test_policy_name(value, name):
    assert policy_name(value) == name


@pytest.mark.parametrize(
    ("name", "moves"),
    [
        pytest.param("no", False, id="zun-no"),
        pytest.param("always", True, id="zun-always"),
        pytest.param("on-failure", True, id="zun-on-failure"),
        pytest.param("unless-stopped", True, id="zun-unless-stopped"),
    ],
)
def test_what_moves_after_a_host_loss(name, moves):
    assert (
        name in ZUN_POLICIES
    )  # a capsule's Always/OnFailure/Never are stored under the same names
    assert moves_after_host_loss(name) is moves


def test_on_failure_moves_even_when_its_retry_count_is_spent_on_exits():
    # the host's loss is not an exit of the process: MaximumRetryCount does not decide it
    assert moves_after_host_loss(policy_name({"Name": "on-failure", "MaximumRetryCount": "0"}))
