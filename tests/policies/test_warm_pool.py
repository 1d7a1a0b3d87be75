import pytest

from policies.warm_pool import instances_to_retire, instances_to_start, instances_to_stop


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
    got = instances_to_start(
        waiting=waiting,
        starting=starting,
        serving=serving,
        concurrency=concurrency,
        min_instances=min_i,
        max_instances=max_i,
    )
    assert got == expected


def test_stops_longest_idle_first_and_keeps_min_instances():
    idle = {"a": 400.0, "b": 900.0, "c": 10.0, "d": 301.0}
    assert instances_to_stop(idle, serving=5, min_instances=3, idle_ttl_s=300) == ["b", "a"]
    assert instances_to_stop(idle, serving=4, min_instances=0, idle_ttl_s=300) == ["b", "a", "d"]
    assert instances_to_stop(idle, serving=2, min_instances=2, idle_ttl_s=300) == []


@pytest.mark.parametrize(
    ("waiting", "starting", "serving", "min_i", "max_i", "expected"),
    [
        pytest.param(5, 0, 0, 0, 0, 0, id="max-zero-starts-nothing"),
        pytest.param(0, 2, 0, 2, 10, 0, id="min-met-by-starting-ones"),
        pytest.param(0, 0, 0, 5, 3, 3, id="min-above-max-capped"),
        pytest.param(0, 0, 12, 0, 10, 0, id="above-max-after-lowering-it"),
    ],
)
def test_instances_to_start_edges(waiting, starting, serving, min_i, max_i, expected):
    got = instances_to_start(
        waiting=waiting,
        starting=starting,
        serving=serving,
        concurrency=1,
        min_instances=min_i,
        max_instances=max_i,
    )
    assert got == expected


def test_an_instance_idle_exactly_the_ttl_expires():
    assert instances_to_stop(
        {"a": 300.0, "b": 299.9}, serving=2, min_instances=0, idle_ttl_s=300
    ) == ["a"]


def test_busy_instances_count_for_min_instances():
    # 3 serving, 2 of them busy: keeping min 2 allows stopping the one idle instance
    assert instances_to_stop({"idle": 999.0}, serving=3, min_instances=2, idle_ttl_s=60) == ["idle"]
    assert instances_to_stop({"idle": 999.0}, serving=2, min_instances=2, idle_ttl_s=60) == []


def test_retire_drains_old_versions_at_once_and_expires_current_ones():
    idle = {"old-fresh": 1.0, "cur-expired": 500.0, "cur-fresh": 5.0}
    versions = {"old-fresh": 1, "old-busy": 1, "cur-expired": 2, "cur-fresh": 2, "cur-busy": 2}
    got = instances_to_retire(
        idle, versions, version=2, deleted=False, min_instances=0, idle_ttl_s=300
    )
    assert got == [
        "old-fresh",
        "cur-expired",
    ]  # busy ones are never stopped, whatever their version


def test_retire_keeps_min_instances_of_the_current_version_only():
    idle = {"old": 900.0, "cur-a": 900.0, "cur-b": 800.0}
    versions = {"old": 1, "cur-a": 2, "cur-b": 2}
    # an old instance does not count towards min_instances: two current ones stay
    assert instances_to_retire(
        idle, versions, version=2, deleted=False, min_instances=2, idle_ttl_s=60
    ) == ["old"]
    got = instances_to_retire(
        idle, versions, version=2, deleted=False, min_instances=1, idle_ttl_s=60
    )
    assert got == ["old", "cur-a"]


def test_a_deleted_function_stops_every_idle_instance_even_below_min():
    idle = {"a": 0.0, "b": 10.0}
    versions = {"a": 3, "b": 3, "busy": 3}
    assert instances_to_retire(
        idle, versions, version=3, deleted=True, min_instances=5, idle_ttl_s=300
    ) == ["a", "b"]
