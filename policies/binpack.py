"""Bin-pack score: prefer the most allocated host that still fits (fewer hosts used)."""

from __future__ import annotations

import numpy as np

from policies.base import Demand, Hosts

NAME = "binpack"


class BinPackScore:
    NAME = NAME

    def score(self, demand: Demand, hosts: Hosts) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            cpu = np.where(hosts.cpu_capacity > 0, (hosts.cpu_used + demand.cpu) / hosts.cpu_capacity, 1.0)
            mem = np.where(hosts.memory_capacity > 0, (hosts.memory_used + demand.memory_mb) / hosts.memory_capacity, 1.0)
        return np.clip((cpu + mem) / 2.0, 0.0, 1.0) * 100.0
