"""Balanced-allocation score: prefer hosts whose cpu and memory use stay even
after placing (Kubernetes' NodeResourcesBalancedAllocation)."""

from __future__ import annotations

import numpy as np

from policies.base import Demand, Hosts
from policies.binpack import allocated

NAME = "balanced"


class BalancedScore:
    NAME = NAME

    def score(self, demand: Demand, hosts: Hosts) -> np.ndarray:
        cpu = allocated(hosts.cpu_used, demand.cpu, hosts.cpu_capacity)
        mem = allocated(hosts.memory_used, demand.memory_mb, hosts.memory_capacity)
        return np.clip(100.0 * (1.0 - np.abs(cpu - mem)), 0.0, 100.0)
