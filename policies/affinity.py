"""Filter ``affinity``: capsules together with, or apart from, capsules by label.

``affinity`` (k, v): only hosts already running a capsule labelled k=v;
``anti_affinity`` (k, v): no host running one. A label nobody carries leaves
an affinity demand pending with that reason, as asked. Only capsules of the
demand's own project count: another project's labels neither attract nor
repel, and so cannot be probed by placing (or asking ``why``).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from policies.base import Demand, FilterResult, Hosts

NAME = "affinity"


class AffinityFilter:
    NAME = NAME

    def filter(self, demand: Demand, hosts: Hosts, *, explain: bool = True) -> FilterResult | None:
        if not (demand.affinity or demand.anti_affinity):
            return None  # no constraint
        counts = hosts.capsule_labels or [Counter()] * len(hosts)
        passed = np.ones(len(hosts), dtype=bool)
        reasons: dict[int, str] = {}
        for i, placed in enumerate(counts):
            absent = [
                f"{k}={v}" for k, v in demand.affinity if not placed.get((demand.project_id, k, v))
            ]
            present = [
                f"{k}={v}" for k, v in demand.anti_affinity if placed.get((demand.project_id, k, v))
            ]
            if absent or present:
                passed[i] = False
                if explain:
                    reasons[i] = (
                        f"no capsule labelled {', '.join(absent)} here"
                        if absent
                        else f"anti-affinity: a capsule labelled {', '.join(present)} runs here"
                    )
        return FilterResult(passed=passed, reasons=reasons)
