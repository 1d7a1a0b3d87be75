"""Score ``ratio``: requested-to-capacity ratio through a configurable shape
(Kubernetes' RequestedToCapacityRatio).

The shape is a list of points (utilization %, score 0..100), linearly
interpolated and flat beyond its ends; each host's cpu and memory utilization
after placing is scored through it and the two are averaged. ``[[0, 0], [100,
100]]`` packs (like ``binpack``); ``[[0, 100], [100, 0]]`` spreads; a peak in the
middle keeps hosts near that utilization.
"""

from __future__ import annotations

import numpy as np

from policies.base import Demand, Hosts
from policies.binpack import allocated

NAME = "ratio"
DEFAULT_SHAPE = ((0.0, 0.0), (100.0, 100.0))


class RatioScore:
    NAME = NAME

    def __init__(
        self, shape: list[list[float]] | tuple[tuple[float, float], ...] = DEFAULT_SHAPE
    ) -> None:
        points = [tuple(map(float, p)) for p in shape]
        if not points or any(len(p) != 2 for p in points):
            raise ValueError(f"ratio shape: a list of [utilization %, score] points, got {shape!r}")
        xs = [p[0] for p in points]
        if (
            xs != sorted(set(xs))
            or not all(0 <= x <= 100 for x in xs)
            or not all(0 <= p[1] <= 100 for p in points)
        ):
            raise ValueError(
                f"ratio shape: utilizations strictly increasing within 0..100 and scores within 0..100, got {shape!r}"
            )
        self.xs = np.array(xs)
        self.ys = np.array([p[1] for p in points])

    def score(self, demand: Demand, hosts: Hosts) -> np.ndarray:
        cpu = 100.0 * allocated(hosts.cpu_used, demand.cpu, hosts.cpu_capacity)
        mem = 100.0 * allocated(hosts.memory_used, demand.memory_mb, hosts.memory_capacity)
        return (np.interp(cpu, self.xs, self.ys) + np.interp(mem, self.xs, self.ys)) / 2.0
