from __future__ import annotations

import pytest

from policies import Demand, Hosts, decide, make_filters, make_scores
from policies.retry import backoff_s

FILTERS = make_filters(["fit"])
SCORES = make_scores({"binpack": 1.0})


def hosts(*rows):
    return Hosts.build(
        [
            {
                "name": f"h{i}",
                "cpu_total": 2,
                "cpu_capacity": 8,
                "memory_capacity": 1000,
                "runtimes": ("runc",),
                **r,
            }
            for i, r in enumerate(rows)
        ]
    )


def test_binpack_prefers_the_fuller_host_that_fits():
    snapshot = hosts({"cpu_used": 1}, {"cpu_used": 6}, {"cpu_used": 7.9})
    d = decide(Demand(cpu=1, memory_mb=100), snapshot, FILTERS, SCORES)
    assert d.host == "h1"
    assert d.reasons == {"h2": "insufficient cpu: 0.1 free, 1 asked"}


@pytest.mark.parametrize(
    "demand, row, reason",
    [
        (Demand(cpu=1, memory_mb=2000), {}, "insufficient memory: 1000 MB free, 2000 MB asked"),
        (Demand(cpu=1, memory_mb=10, runtime="runsc"), {}, "runtime runsc missing"),
        (Demand(cpu=1, memory_mb=10), {"up": False}, "host down"),
        (Demand(cpu=4, memory_mb=10), {}, "host has 2 cpus, 4 asked"),
    ],
    ids=["memory", "runtime", "down", "bigger-than-host"],
)
def test_rejections_say_why(demand, row, reason):
    d = decide(demand, hosts(row), FILTERS, SCORES)
    assert d.host is None and d.reasons == {"h0": reason}


def test_summary_groups_reasons_by_count():
    snapshot = hosts(
        {"memory_used": 990}, {"memory_used": 990}, {"runtimes": ("runc",), "up": False}
    )
    d = decide(Demand(cpu=1, memory_mb=100), snapshot, FILTERS, SCORES)
    assert (
        d.summary() == "2 hosts: insufficient memory: 10 MB free, 100 MB asked; 1 host: host down"
    )


def test_summary_names_the_largest_host_when_nothing_could_ever_fit():
    d = decide(Demand(cpu=64, memory_mb=10), hosts({}, {}), FILTERS, SCORES)
    assert d.summary() == "needs 64 cpus; largest host has 2"


def test_no_hosts_at_all():
    assert (
        decide(Demand(cpu=1, memory_mb=1), hosts(), FILTERS, SCORES).summary()
        == "no hosts registered"
    )


def test_unknown_policy_names_are_refused():
    with pytest.raises(ValueError, match="unknown placement filters"):
        make_filters(["nope"])


@pytest.mark.parametrize(
    "attempt, rand, expected", [(1, 0.0, 0.5), (1, 1.0, 1.0), (3, 1.0, 4.0), (10, 1.0, 60.0)]
)
def test_backoff_grows_exponentially_within_bounds(attempt, rand, expected):
    assert backoff_s(attempt, base_s=1.0, max_s=60.0, rand=rand) == pytest.approx(expected)


def test_requested_host_and_labels_filter_with_reasons():
    filters = make_filters(["fit", "host", "labels"])
    snapshot = Hosts.build(
        [
            {"name": "a", "cpu_total": 4, "memory_capacity": 1000, "labels": {"nic": "sriov"}},
            {"name": "b", "cpu_total": 4, "memory_capacity": 1000, "labels": {"nic": "virtio"}},
        ]
    )
    d = decide(Demand(cpu=1, memory_mb=10, labels=(("nic", "sriov"),)), snapshot, filters, SCORES)
    assert d.host == "a" and d.reasons == {"b": "missing label nic=sriov"}
    d = decide(Demand(cpu=1, memory_mb=10, host="b"), snapshot, filters, SCORES)
    assert d.host == "b" and d.reasons == {"a": "not the requested host b"}


@pytest.mark.parametrize(
    "score, expected",
    [("binpack", "busy"), ("spread", "idle"), ("balanced", "even")],
    ids=["binpack", "spread", "balanced"],
)
def test_scores_pick_their_kind_of_host(score, expected):
    snapshot = Hosts.build(
        [
            {
                "name": "busy",
                "cpu_total": 10,
                "cpu_capacity": 10,
                "cpu_used": 8,
                "memory_capacity": 1000,
                "memory_used": 100,
            },
            {
                "name": "idle",
                "cpu_total": 10,
                "cpu_capacity": 10,
                "cpu_used": 0,
                "memory_capacity": 1000,
                "memory_used": 600,
            },
            {
                "name": "even",
                "cpu_total": 10,
                "cpu_capacity": 10,
                "cpu_used": 4,
                "memory_capacity": 1000,
                "memory_used": 400,
            },
        ]
    )
    assert (
        decide(Demand(cpu=1, memory_mb=100), snapshot, FILTERS, make_scores({score: 1.0})).host
        == expected
    )


def test_host_table_updates_in_place_on_claim_and_release():
    from policies.table import HostTable

    table = HostTable()
    table.upsert(
        "h1", cpu_total=2, cpu_capacity=8, memory_capacity=1000, runtimes=frozenset({"runc"})
    )
    table.upsert(
        "h2",
        cpu_total=2,
        cpu_capacity=8,
        memory_capacity=1000,
        runtimes=frozenset({"runc", "runsc"}),
    )
    d = Demand(cpu=2, memory_mb=300, runtime="runsc")
    assert decide(d, table.hosts, FILTERS, SCORES).host == "h2"
    table.claim("h2", d)
    table.claim("h2", d)
    table.claim("h2", d)
    assert decide(d, table.hosts, FILTERS, SCORES).host is None  # 900 of 1000 MB used
    table.release("h2", d)
    assert decide(d, table.hosts, FILTERS, SCORES).host == "h2"


def test_dedicated_cpus_need_a_numa_node_with_enough_unpinned_cpus():
    snapshot = Hosts.build(
        [
            {"name": "a", "cpu_total": 8, "memory_capacity": 1000, "dedicated_free": 1},
            {"name": "b", "cpu_total": 8, "memory_capacity": 1000, "dedicated_free": 4},
        ]
    )
    d = decide(Demand(cpu=2, memory_mb=10, dedicated=True), snapshot, FILTERS, SCORES)
    assert d.host == "b" and d.reasons == {"a": "1 cpus free to pin on one NUMA node, 2 asked"}


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        pytest.param([[0, 0], [100, 100]], "busy", id="packs"),
        pytest.param([[0, 100], [100, 0]], "idle", id="spreads"),
        pytest.param([[0, 0], [50, 100], [100, 0]], "even", id="peak-at-half"),
    ],
)
def test_ratio_score_follows_its_shape(shape, expected):
    snapshot = Hosts.build(
        [
            {
                "name": "busy",
                "cpu_total": 10,
                "cpu_capacity": 10,
                "cpu_used": 8,
                "memory_capacity": 1000,
                "memory_used": 800,
            },
            {
                "name": "idle",
                "cpu_total": 10,
                "cpu_capacity": 10,
                "cpu_used": 0,
                "memory_capacity": 1000,
                "memory_used": 0,
            },
            {
                "name": "even",
                "cpu_total": 10,
                "cpu_capacity": 10,
                "cpu_used": 4,
                "memory_capacity": 1000,
                "memory_used": 400,
            },
        ]
    )
    scores = make_scores({"ratio": 1.0}, {"ratio": {"shape": shape}})
    assert decide(Demand(cpu=1, memory_mb=100), snapshot, FILTERS, scores).host == expected


@pytest.mark.parametrize(
    "shape",
    [[], [[50, 0], [10, 100]], [[0, 0], [100, 150]]],
    ids=["empty", "not-increasing", "score-over-100"],
)
def test_bad_ratio_shape_is_refused(shape):
    with pytest.raises(ValueError, match="ratio shape"):
        make_scores({"ratio": 1.0}, {"ratio": {"shape": shape}})


def test_settings_refuse_unknown_policy_names():
    from pydantic import ValidationError

    from runner.settings import Settings

    with pytest.raises(ValidationError, match="unknown placement scores \\['nope'\\]"):
        Settings(placement_scores={"nope": 1.0})
    with pytest.raises(ValidationError, match="unknown placement filters \\['fitt'\\]"):
        Settings(placement_filters=("fitt",))
