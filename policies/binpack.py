"""Bin-pack score: prefer the most allocated host that still fits (fewer hosts used)."""

from __future__ import annotations

import numpy as np

from policies.base import Demand, Hosts

NAME = "binpack"


def allocated(used: np.ndarray, asked: float, capacity: np.ndarray) -> np.ndarray:
    """Fraction of capacity in use after placing; 1 where there is no capacity."""
    return np.divide(used + asked, capacity, out=np.ones_like(capacity), where=capacity > 0)


class BinPackScore:
    NAME = NAME

    def score(self, demand: Demand, hosts: Hosts) -> np.ndarray:
        cpu = allocated(hosts.cpu_used, demand.cpu, hosts.cpu_capacity)
        mem = allocated(hosts.memory_used, demand.memory_mb, hosts.memory_capacity)
        return np.clip((cpu + mem) * 50.0, 0.0, 100.0)
