import pytest

from policies.warm_pool import instances_to_start, instances_to_stop


@pytest.mark.parametrize(
    ("waiting", "starting", "serving", "concurrency", "min_i", "max_i", "expected"),
    [
        pytest.param(0, 0, 0, 1, 0, 10, 0, id="idle-function-scales-to-zero"),
        pytest.param(1, 0, 0, 1, 0, 10, 1, id="first-call-starts-one"),
        pytest.param(3, 1, 2, 1, 0, 10, 2, id="starting-ones-count-for-the-queue"),
        pytest.param(9, 0, 0, 4, 0, 10, 3, id="concurrency-per-instance"),
        pytest.param(50, 0, 8, 1, 0, 10, 2, id="capped-by-max-instances"),
        pytest.param(0, 0, 1, 1, 3, 10, 2, id="min-instances-kept-warm"),
        pytest.param(0, 0, 10, 1, 0, 10, 0, id="at-max-nothing-more"),
    ],
)
def test_instances_to_start(waiting, starting, serving, concurrency, min_i, max_i, expected):
    got = instances_to_start(waiting=waiting, starting=starting, serving=serving, concurrency=concurrency, min_instances=min_i, max_instances=max_i)
    assert got == expected


def test_stops_longest_idle_first_and_keeps_min_instances():
    idle = {"a": 400.0, "b": 900.0, "c": 10.0, "d": 301.0}
    assert instances_to_stop(idle, serving=5, min_instances=3, idle_ttl_s=300) == ["b", "a"]
    assert instances_to_stop(idle, serving=4, min_instances=0, idle_ttl_s=300) == ["b", "a", "d"]
    assert instances_to_stop(idle, serving=2, min_instances=2, idle_ttl_s=300) == []
