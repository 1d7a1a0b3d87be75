"""Fuzzing the live gateway from its own /openapi.json: no request, however malformed, is a 500.

schemathesis generates valid and invalid requests for every operation, in a fixed order
(derandomized), for a bounded time; ``not_a_server_error`` checks each answer. Requests
only go to the stack's gateway on 127.0.0.1. Every body that would start real work (a
job, a function, a container, a capsule, a schedule) gets an image reference that
cannot be valid, so it is answered 400 after the rest of its body was checked and
nothing is created, pulled or run.
"""

from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(600)]

BUDGET_S = 50.0  # per run (derandomized: the same cases first each run); two runs, the suite's biggest single cost
MAX_EXAMPLES = 2000  # the budget ends a run first on a loaded machine
NO_IMAGE = "Not a valid image!"  # refused by every image check before anything is pulled


def _neuter(value):  # noqa: ANN001, ANN202
    """The body with every ``image`` replaced by one no check accepts (nothing gets created)."""
    if isinstance(value, dict):
        return {k: NO_IMAGE if k == "image" else _neuter(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_neuter(v) for v in value]
    return value


class BudgetSpent(Exception):
    """Raised once the time budget is spent: it ends hypothesis' run (which has no shrink phase here)."""


def fuzz(base_url: str, headers: dict[str, str]) -> tuple[list[str], int]:
    """Fuzz every operation for BUDGET_S; returns the server errors seen and how many requests were sent."""
    assert urlparse(base_url).hostname == "127.0.0.1"
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    strategy = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE)
    )
    errors: list[str] = []
    sent = 0
    deadline = time.monotonic() + BUDGET_S

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case) -> None:  # noqa: ANN001
        nonlocal sent
        if time.monotonic() > deadline:
            raise BudgetSpent
        if case.body is not None and not isinstance(case.body, (bytes, str)):
            case.body = _neuter(case.body)
        sent += 1
        try:
            case.call_and_validate(
                base_url=base_url, headers=headers, checks=[not_a_server_error], timeout=30
            )
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - collected: one run reports every server error, unshrunk
            errors.append(
                f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]}: {str(exc)[:500]}"
            )

    try:
        run()
    except BudgetSpent:
        pass
    print(f"fuzzed {base_url}: {sent} requests, {len(errors)} server errors")  # noqa: T201 - shown with -s
    return errors, sent


def test_fuzz_noauth_gateway_never_answers_500(zunray):
    errors, sent = fuzz(
        zunray.settings.gateway_url,
        {"X-Project-Id": "fuzz", "OpenStack-API-Version": "container latest"},
    )
    assert sent > 100, f"only {sent} requests in {BUDGET_S} s"
    assert not errors, "\n".join(errors)


def test_fuzz_as_member_gateway_never_answers_500(secured, keystone):
    headers = {
        "X-Auth-Token": keystone.tokens["alice"],
        "OpenStack-API-Version": "container latest",
    }
    errors, sent = fuzz(secured.settings.gateway_url, headers)
    assert sent > 100, f"only {sent} requests in {BUDGET_S} s"
    assert not errors, "\n".join(errors)
