"""Live host arrays for the placement actor, updated in place on claim and release.

Adding or changing a host re-allocates (rare); a claim or a release touches
two numbers. ``hosts`` is the ``Hosts`` view the filters and scores read.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from policies.base import Demand, Hosts


def _empty() -> Hosts:
    z = np.zeros(0)
    return Hosts(
        names=[],
        cpu_total=z,
        cpu_capacity=z,
        cpu_used=z,
        memory_capacity=z,
        memory_used=z,
        disk_capacity=z,
        disk_used=z,
        runtimes=[],
        up=np.zeros(0, dtype=bool),
        labels=[],
        dedicated_free=z,
        hugepages_2m_free=z,
        hugepages_1g_free=z,
        capsule_labels=[],
    )


class HostTable:
    def __init__(self) -> None:
        self.hosts = _empty()
        self.index: dict[str, int] = {}
        self._hugepages_used: list[dict[str, float]] = []  # per row: pages claimed, per size

    def upsert(
        self,
        name: str,
        *,
        cpu_total: float,
        cpu_capacity: float,
        memory_capacity: float,
        runtimes: frozenset[str],
        up: bool = True,
        labels: dict[str, str] | None = None,
        disk_capacity: float = np.inf,
        dedicated_free: float = 0.0,
        hugepages: dict[str, int] | None = None,
    ) -> None:
        """Add or refresh a host. ``hugepages`` is its inventory per size ("2m", "1g");
        what placed capsules claimed is kept apart and subtracted."""
        h = self.hosts
        row = self.index.get(name)
        if row is None:
            row = self.index[name] = len(h.names)
            h.names.append(name)
            for attr in (
                "cpu_total",
                "cpu_capacity",
                "cpu_used",
                "memory_capacity",
                "memory_used",
                "disk_capacity",
                "disk_used",
                "dedicated_free",
                "hugepages_2m_free",
                "hugepages_1g_free",
            ):
                setattr(h, attr, np.append(getattr(h, attr), 0.0))
            self._hugepages_used.append({"2m": 0.0, "1g": 0.0})
            h.capsule_labels.append(Counter())
            h.up = np.append(h.up, True)
            h.runtimes.append(runtimes)
            h.labels.append({})
            h.forget_masks()
        h.cpu_total[row], h.cpu_capacity[row], h.memory_capacity[row], h.disk_capacity[row] = (
            cpu_total,
            cpu_capacity,
            memory_capacity,
            disk_capacity,
        )
        h.up[row] = up
        h.dedicated_free[row] = dedicated_free
        pages = hugepages or {}
        used = self._hugepages_used[row]
        h.hugepages_2m_free[row] = pages.get("2m", 0) - used["2m"]
        h.hugepages_1g_free[row] = pages.get("1g", 0) - used["1g"]
        if h.runtimes[row] != runtimes:
            h.runtimes[row] = runtimes
            h.forget_masks()
        h.labels[row] = dict(labels or {})

    def set_disabled(self, disabled: dict[str, str]) -> None:
        """Hosts an operator disabled (name -> reason); every other host is enabled."""
        self.hosts.disabled = {
            self.index[n]: reason for n, reason in disabled.items() if n in self.index
        }

    def set_up(self, name: str, up: bool) -> None:
        if name in self.index:
            self.hosts.up[self.index[name]] = up

    def claim(self, name: str, demand: Demand, sign: float = 1.0) -> None:
        row = self.index.get(name)
        if row is None:
            return
        self.hosts.cpu_used[row] += sign * demand.cpu
        self.hosts.memory_used[row] += sign * demand.memory_mb
        self.hosts.disk_used[row] += sign * demand.disk_gb
        if demand.dedicated:
            self.hosts.dedicated_free[row] -= sign * demand.cpu
        if demand.hugepages_2m or demand.hugepages_1g:
            used = self._hugepages_used[row]
            used["2m"] += sign * demand.hugepages_2m
            used["1g"] += sign * demand.hugepages_1g
            self.hosts.hugepages_2m_free[row] -= sign * demand.hugepages_2m
            self.hosts.hugepages_1g_free[row] -= sign * demand.hugepages_1g
        if demand.labels_of_capsule:
            counts = self.hosts.capsule_labels[row]
            for k, v in demand.labels_of_capsule:
                key = (
                    demand.project_id,
                    k,
                    v,
                )  # kept per project: no project learns of another's labels
                counts[key] += int(sign)
                if counts[key] <= 0:
                    del counts[key]

    def release(self, name: str, demand: Demand) -> None:
        self.claim(name, demand, -1.0)

    def clear_used(self) -> None:
        h = self.hosts
        h.cpu_used[:] = 0.0
        h.memory_used[:] = 0.0
        h.disk_used[:] = 0.0
        for row, used in enumerate(self._hugepages_used):
            h.hugepages_2m_free[row] += used["2m"]
            h.hugepages_1g_free[row] += used["1g"]
            used["2m"] = used["1g"] = 0.0
        for counts in h.capsule_labels:
            counts.clear()
