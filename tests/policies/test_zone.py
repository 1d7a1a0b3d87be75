"""Availability zones: a host's zone is its node label `zone` (else `nova`); a capsule that
asks for a zone goes only to its hosts, and the others say why."""

from __future__ import annotations

import pytest

from policies import Demand, Hosts, decide, make_filters, make_scores
from policies.zone import DEFAULT_ZONE, ZoneFilter, host_zone, zones

HOSTS = [
    {"name": "a", "cpu_total": 4, "memory_capacity": 4096, "labels": {"zone": "az-1"}},
    {"name": "b", "cpu_total": 8, "memory_capacity": 8192, "labels": {"zone": "az-2"}},
    {"name": "c", "cpu_total": 8, "memory_capacity": 8192, "labels": {"rack": "r1"}},
]


@pytest.mark.parametrize(
    "labels, zone",
    [
        ({"zone": "az-1"}, "az-1"),
        ({"rack": "r1"}, DEFAULT_ZONE),
        ({"zone": ""}, DEFAULT_ZONE),
        (None, "nova"),
    ],
    ids=["labelled", "unlabelled", "empty-label", "no-labels"],
)
def test_a_hosts_zone_is_its_zone_label_else_nova(labels, zone):
    assert host_zone(labels) == zone


def test_the_zones_are_those_of_the_hosts_once_each_sorted():
    assert zones(h["labels"] for h in HOSTS) == ["az-1", "az-2", "nova"]
    assert zones([]) == []


def _decide(zone: str | None, *, filters=("fit", "zone")):
    demand = Demand(cpu=1, memory_mb=256, zone=zone)
    return decide(
        demand, Hosts.build(HOSTS), make_filters(list(filters)), make_scores({"binpack": 1})
    )


def test_a_host_outside_the_zone_is_not_a_candidate_and_says_why():
    decision = _decide("az-2")
    assert decision.host == "b"
    assert decision.reasons == {
        "a": "in zone az-1, not the requested zone az-2",
        "c": "in zone nova, not the requested zone az-2",
    }


def test_the_default_zone_holds_the_unlabelled_hosts():
    assert _decide("nova").host == "c"


def test_no_zone_asked_leaves_every_host_a_candidate():
    assert ZoneFilter().filter(Demand(cpu=1, memory_mb=1), Hosts.build(HOSTS)) is None
    assert _decide(None).host == "a"  # binpack: the fullest fitting host


def test_a_zone_without_room_waits_with_the_reasons_of_every_host():
    demand = Demand(cpu=6, memory_mb=256, zone="az-1")
    decision = decide(demand, Hosts.build(HOSTS), make_filters(["fit", "zone"]), [])
    assert decision.host is None
    assert decision.summary() == (
        "1 host: host has 4 cpus, 6 asked; 1 host: in zone az-2, not the requested zone az-1; "
        "1 host: in zone nova, not the requested zone az-1"
    )


def test_the_zone_filter_is_on_by_default():
    from runner.settings import Settings

    assert "zone" in Settings().placement_filters
