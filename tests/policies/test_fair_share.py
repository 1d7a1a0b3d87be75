"""The per-round fair share of placement: round-robin between projects, each up to its share."""

from __future__ import annotations

import pytest

from policies.fair_share import round_robin


def _queue(*spec: tuple[str, int]) -> list[tuple[str, str]]:
    """("p1", 3) -> p1-0, p1-1, p1-2 in arrival order, projects one after the other."""
    return [(f"{project}-{i}", project) for project, n in spec for i in range(n)]


@pytest.mark.parametrize(
    ("queue", "per_project", "expected"),
    [
        pytest.param(
            _queue(("p1", 3)), 5, ["p1-0", "p1-1", "p1-2"], id="one-project-under-its-share"
        ),
        pytest.param(
            _queue(("p1", 1000), ("p2", 1)),
            2,
            ["p1-0", "p2-0", "p1-1"],
            id="a-backlog-does-not-push-back-a-late-project",
        ),
        pytest.param(
            _queue(("p1", 2), ("p2", 2), ("p3", 1)),
            10,
            ["p1-0", "p2-0", "p3-0", "p1-1", "p2-1"],
            id="turns-in-first-appearance-order",
        ),
        pytest.param(
            [("a", "p1"), ("b", "p2"), ("c", "p1"), ("d", "p2"), ("e", "p1")],
            2,
            ["a", "b", "c", "d"],
            id="interleaved-arrivals",
        ),
        pytest.param([], 4, [], id="nothing-waits"),
    ],
)
def test_round_robin(queue, per_project, expected):
    assert round_robin(queue, per_project=per_project) == expected


def test_a_round_is_bounded_by_the_share_whatever_the_backlog():
    considered = round_robin(_queue(("p1", 100_000), ("p2", 3)), per_project=128)
    assert len(considered) == 128 + 3
    assert considered.index("p2-0") == 1  # p2's first request is the second one looked at
