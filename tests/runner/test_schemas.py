"""The checks every job request passes, whichever entry point it came through (HTTP, the SDK over Ray)."""

from __future__ import annotations

import pytest

from runner.errors import Forbidden, InvalidSpec
from runner.models import DEFAULT_BACKOFF_LIMIT
from runner.schemas import JobIn, check_bounds, rules_needed
from runner.settings import Settings


def _job(**fields) -> JobIn:  # noqa: ANN003
    return JobIn.model_validate({"image": "busybox:latest", "command": ["true"], **fields})


@pytest.mark.parametrize(
    "fields, rules",
    [
        ({}, []),
        ({"runtime": "runc"}, ["job:create:runtime"]),  # naming a runtime at all, even the default
        ({"image_pull_policy": "always"}, ["job:create:image_pull_policy"]),
        ({"capabilities": ["NET_ADMIN"]}, ["job:create:capabilities"]),
        ({"resources": {"memory_mb": 64, "hugepages_2m_pages": 4}}, ["job:create:hugepages"]),
        ({"sysctls": {"net.ipv4.ip_forward": "1"}}, ["job:create:sysctls"]),
    ],
    ids=["plain", "runtime", "pull-policy", "capabilities", "hugepages", "sysctls"],
)
def test_each_privileged_field_needs_its_rule(fields, rules):
    assert rules_needed(_job(**fields)) == rules


@pytest.mark.parametrize(
    "fields, settings, error, field",
    [
        ({"timeout_s": 100}, {"max_timeout_s": 10}, InvalidSpec, "timeout_s"),
        (
            {"sysctls": {"kernel.shmmax": "1"}},
            {"allowed_sysctls": ("net.ipv4.ip_forward",)},
            InvalidSpec,
            "sysctls",
        ),
        (
            {"image": "elsewhere.internal/app:1"},
            {"allowed_registries": ("registry.internal:5000",)},
            Forbidden,
            None,
        ),
    ],
    ids=["timeout", "sysctl", "registry"],
)
def test_operator_bounds_refuse(tmp_path, fields, settings, error, field):
    with pytest.raises(error) as refused:
        check_bounds(_job(**fields), Settings(data_dir=tmp_path, **settings))
    assert refused.value.field == field


def test_within_the_bounds_passes(tmp_path):
    check_bounds(
        _job(timeout_s=5, image="registry.internal:5000/app:1"),
        Settings(
            data_dir=tmp_path, max_timeout_s=10, allowed_registries=("registry.internal:5000",)
        ),
    )


def test_backoff_limit_has_one_default():
    assert _job().backoff_limit == DEFAULT_BACKOFF_LIMIT == 6
