"""Balanced-allocation score: prefer hosts whose cpu and memory use stay even
after placing (Kubernetes' NodeResourcesBalancedAllocation)."""

from __future__ import annotations

import numpy as np

from policies.base import Demand, Hosts

NAME = "balanced"


class BalancedScore:
    NAME = NAME

    def score(self, demand: Demand, hosts: Hosts) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            cpu = np.where(hosts.cpu_capacity > 0, (hosts.cpu_used + demand.cpu) / hosts.cpu_capacity, 1.0)
            mem = np.where(hosts.memory_capacity > 0, (hosts.memory_used + demand.memory_mb) / hosts.memory_capacity, 1.0)
        return np.clip(100.0 * (1.0 - np.abs(cpu - mem)), 0.0, 100.0)
