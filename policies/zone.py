"""Availability zones: a host's zone is its node label ``zone``; filter ``zone`` keeps a capsule
that asks for one (Zun's ``availability_zone``) on that zone's hosts.

A host without the label is in ``DEFAULT_ZONE``, the name Zun (and Nova) give it: ``nova``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from policies.base import Demand, FilterResult, Hosts

ZONE_LABEL = "zone"
DEFAULT_ZONE = "nova"  # Zun's default_availability_zone


def host_zone(labels: Mapping[str, str] | None) -> str:
    """The zone of a host with these node labels."""
    return (labels or {}).get(ZONE_LABEL) or DEFAULT_ZONE


def zones(hosts_labels: Iterable[Mapping[str, str] | None]) -> list[str]:
    """The zones these hosts make up, sorted (what ``/v1/availability_zones`` lists)."""
    return sorted({host_zone(labels) for labels in hosts_labels})


class ZoneFilter:
    """Only hosts in the requested availability zone."""

    NAME = "zone"

    def filter(self, demand: Demand, hosts: Hosts, *, explain: bool = True) -> FilterResult | None:
        if not demand.zone:
            return None  # no zone asked: every zone will do
        labels = hosts.labels or [{}] * len(hosts)
        in_zone = [host_zone(host_labels) for host_labels in labels]
        passed = np.array([z == demand.zone for z in in_zone], dtype=bool)
        reasons = (
            {
                int(i): f"in zone {in_zone[i]}, not the requested zone {demand.zone}"
                for i in np.flatnonzero(~passed)
            }
            if explain
            else {}
        )
        return FilterResult(passed=passed, reasons=reasons)
