import numpy as np
import pytest

from policies import Demand, decide, make_filters, make_scores
from policies.affinity import AffinityFilter
from policies.hugepages import HugePagesFilter
from policies.table import HostTable


def _table(**pages) -> HostTable:  # noqa: ANN003
    table = HostTable()
    for name, hp in pages.items():
        table.upsert(
            name,
            cpu_total=8,
            cpu_capacity=8,
            memory_capacity=8192,
            runtimes=frozenset({"runc"}),
            hugepages=hp,
        )
    return table


def test_hugepages_filter_counts_claims_and_survives_a_new_report():
    table = _table(a={"2m": 64, "1g": 0}, b={"2m": 8, "1g": 2})
    want = Demand(cpu=1, memory_mb=256, hugepages_2m=16)
    result = HugePagesFilter().filter(want, table.hosts)
    assert (
        list(result.passed) == [True, False]
        and result.reasons[1] == "8 free 2 MiB huge pages, 16 asked"
    )
    table.claim("a", want)
    table.claim("a", want)
    table.claim("a", want)
    table.upsert(
        "a",
        cpu_total=8,
        cpu_capacity=8,
        memory_capacity=8192,
        runtimes=frozenset({"runc"}),
        hugepages={"2m": 64},
    )  # a heartbeat
    assert table.hosts.hugepages_2m_free[0] == 16  # 64 minus three claims of 16
    table.claim("a", want)
    assert not HugePagesFilter().filter(want, table.hosts).passed.any()
    table.release("a", want)
    assert HugePagesFilter().filter(want, table.hosts).passed[0]
    one_gig = HugePagesFilter().filter(Demand(cpu=1, memory_mb=1024, hugepages_1g=1), table.hosts)
    assert list(one_gig.passed) == [False, True]
    assert HugePagesFilter().filter(Demand(cpu=1, memory_mb=1), table.hosts) is None  # not engaged


@pytest.mark.parametrize(
    ("affinity", "anti", "expected"),
    [
        pytest.param((("app", "db"),), (), [True, False, False], id="affinity-with-the-db"),
        pytest.param(
            (), (("app", "db"),), [False, True, True], id="anti-affinity-away-from-the-db"
        ),
        pytest.param(
            (("app", "nobody"),), (), [False, False, False], id="label-nobody-has-stays-pending"
        ),
    ],
)
def test_affinity_follows_placed_capsules(affinity, anti, expected):
    table = _table(a={}, b={}, c={})
    db = Demand(cpu=1, memory_mb=64, labels_of_capsule=(("app", "db"),))
    table.claim("a", db)
    result = AffinityFilter().filter(
        Demand(cpu=1, memory_mb=64, affinity=affinity, anti_affinity=anti), table.hosts
    )
    assert list(result.passed) == expected
    if not any(expected):
        assert result.reasons[0] == "no capsule labelled app=nobody here"
    table.release("a", db)
    assert table.hosts.capsule_labels[0] == {}  # released: nothing left to attract or repel


def test_decide_explains_a_pending_anti_affinity():
    table = _table(a={})
    table.claim("a", Demand(cpu=1, memory_mb=64, labels_of_capsule=(("role", "probe"),)))
    decision = decide(
        Demand(cpu=1, memory_mb=64, anti_affinity=(("role", "probe"),)),
        table.hosts,
        make_filters(["fit", "affinity"]),
        make_scores({"binpack": 1}),
    )
    assert decision.host is None
    assert "anti-affinity: a capsule labelled role=probe runs here" in decision.summary()
    assert np.all(table.hosts.cpu_used == 1)


@pytest.mark.parametrize(
    ("project", "affinity", "anti", "expected"),
    [
        pytest.param(
            "p2", (), (("app", "db"),), [True, True], id="another-projects-db-does-not-repel"
        ),
        pytest.param(
            "p2", (("app", "db"),), (), [False, False], id="another-projects-db-does-not-attract"
        ),
        pytest.param("p1", (), (("app", "db"),), [False, True], id="the-own-projects-db-repels"),
    ],
)
def test_affinity_sees_only_the_own_projects_capsules(project, affinity, anti, expected):
    table = _table(a={}, b={})
    table.claim(
        "a", Demand(cpu=1, memory_mb=64, labels_of_capsule=(("app", "db"),), project_id="p1")
    )
    demand = Demand(cpu=1, memory_mb=64, affinity=affinity, anti_affinity=anti, project_id=project)
    result = AffinityFilter().filter(demand, table.hosts)
    assert list(result.passed) == expected
    if project == "p2":  # nothing in the explanation hints at p1's capsule either
        assert all("runs here" not in why for why in result.reasons.values())
