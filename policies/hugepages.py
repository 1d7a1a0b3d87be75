"""Filter ``hugepages``: hosts with enough unclaimed huge pages of each size asked."""

from __future__ import annotations

from policies.base import Demand, FilterResult, Hosts
from policies.fit import run_checks

NAME = "hugepages"


class HugePagesFilter:
    NAME = NAME

    def filter(self, demand: Demand, hosts: Hosts, *, explain: bool = True) -> FilterResult | None:
        if not (demand.hugepages_2m or demand.hugepages_1g):
            return None  # no constraint
        free_2m, free_1g = hosts.hugepages_2m_free, hosts.hugepages_1g_free
        checks = [
            (
                free_2m < demand.hugepages_2m,
                lambda i: (
                    f"{max(free_2m[i], 0):g} free 2 MiB huge pages, {demand.hugepages_2m} asked"
                ),
            ),
            (
                free_1g < demand.hugepages_1g,
                lambda i: (
                    f"{max(free_1g[i], 0):g} free 1 GiB huge pages, {demand.hugepages_1g} asked"
                ),
            ),
        ]
        return run_checks(len(hosts), checks, explain=explain)
