"""Spread score: prefer the least allocated host (fewest neighbours, most headroom)."""

from __future__ import annotations

import numpy as np

from policies.base import Demand, Hosts
from policies.binpack import BinPackScore

NAME = "spread"


class SpreadScore:
    NAME = NAME

    def score(self, demand: Demand, hosts: Hosts) -> np.ndarray:
        return 100.0 - BinPackScore().score(demand, hosts)
