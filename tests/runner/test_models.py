from __future__ import annotations

import pytest

from runner.errors import InvalidTransition
from runner.models import (
    JOB_TRANSITIONS,
    CapsuleSpec,
    ContainerSpec,
    JobStatus,
    Resources,
    check_transition,
    sources_of,
)

S = JobStatus


@pytest.mark.parametrize(
    "current, wanted",
    [
        (S.QUEUED, S.PLACED),
        (S.PLACED, S.STARTING),
        (S.STARTING, S.RUNNING),
        (S.RUNNING, S.SUCCEEDED),
        (S.RUNNING, S.QUEUED),
        (S.QUEUED, S.CANCELLED),
    ],
    ids=lambda s: s.value,
)
def test_allowed_transitions(current, wanted):
    check_transition("j", current, wanted)


@pytest.mark.parametrize(
    "current, wanted",
    [
        (S.SUCCEEDED, S.RUNNING),
        (S.QUEUED, S.RUNNING),
        (S.CANCELLED, S.QUEUED),
        (S.FAILED, S.SUCCEEDED),
    ],
    ids=lambda s: s.value,
)
def test_refused_transitions_raise(current, wanted):
    with pytest.raises(
        InvalidTransition, match=f"is {current.value}; it cannot become {wanted.value}"
    ):
        check_transition("j", current, wanted)


def test_terminal_statuses_lead_nowhere():
    for status in JobStatus:
        assert (JOB_TRANSITIONS[status] == frozenset()) == status.is_terminal()


def test_sources_of_placed_is_only_queued():
    assert sources_of(S.PLACED, JOB_TRANSITIONS) == {S.QUEUED}


def test_capsule_demand_sums_apps_and_takes_the_peak_init():
    spec = CapsuleSpec(
        containers=(
            ContainerSpec("a", resources=Resources(cpu=1, memory_mb=100)),
            ContainerSpec("b", name="b", resources=Resources(cpu=0.5, memory_mb=50)),
        ),
        init_containers=(ContainerSpec("i", name="i", resources=Resources(cpu=4, memory_mb=10)),),
    )
    d = spec.demand()
    assert (d.cpu, d.memory_mb) == (4, 150)


def test_capsule_round_trips_through_its_dict():
    spec = CapsuleSpec(
        containers=(ContainerSpec("busybox", command=("echo", "x"), env={"A": "1"}),),
        runtime="runsc",
    )
    assert CapsuleSpec.from_dict(spec.to_dict()) == spec
