"""Plain data the placement policies work on, and their two protocols.

Hosts are columns of numpy arrays (one row per host) so that filters and
scores run vectorised over thousands of hosts. No Ray, Docker or database here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Demand:
    """What one capsule asks of a host."""

    cpu: float
    memory_mb: float
    disk_gb: float = 0.0
    runtime: str = "runc"
    host: str | None = None  # a requested destination (admin-only hint)
    labels: tuple[tuple[str, str], ...] = ()  # host labels required (Zun hints "label:k=v")
    dedicated: bool = False  # whole cpus pinned on one NUMA node (cpu_policy dedicated)
    hugepages_2m: int = 0  # 2 MiB huge pages
    hugepages_1g: int = 0  # 1 GiB huge pages
    labels_of_capsule: tuple[
        tuple[str, str], ...
    ] = ()  # the capsule's own labels (what others' affinity matches)
    affinity: tuple[
        tuple[str, str], ...
    ] = ()  # only hosts running a capsule with each of these labels
    anti_affinity: tuple[
        tuple[str, str], ...
    ] = ()  # no host running a capsule with any of these labels
    project_id: str = (
        ""  # whose capsule: affinity sees only the labels of the same project's capsules
    )
    zone: str | None = None  # an availability zone asked for (policies.zone)


@dataclass(slots=True)
class Hosts:
    """A snapshot of hosts: parallel arrays, one row per host."""

    names: list[str]
    cpu_total: np.ndarray  # physical cores: no single container may exceed it
    cpu_capacity: np.ndarray  # allocatable cores (after the allocation ratio)
    cpu_used: np.ndarray
    memory_capacity: np.ndarray  # allocatable MB
    memory_used: np.ndarray
    disk_capacity: np.ndarray
    disk_used: np.ndarray
    runtimes: list[frozenset[str]]
    up: np.ndarray  # bool
    dedicated_free: np.ndarray  # cpus one capsule could pin now (one NUMA node)
    hugepages_2m_free: np.ndarray  # pages not claimed by placed capsules
    hugepages_1g_free: np.ndarray
    labels: list[dict[str, str]] = field(default_factory=list)
    capsule_labels: list[Counter[tuple[str, str, str]]] = field(
        default_factory=list
    )  # (project, k, v) -> that project's capsules placed there carrying it
    disabled: dict[int, str] = field(
        default_factory=dict
    )  # row -> why an operator disabled the host
    _runtime_masks: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)

    def runtime_mask(self, runtime: str) -> np.ndarray:
        """Which hosts offer ``runtime`` (cached: hosts change rarely, demands often)."""
        mask = self._runtime_masks.get(runtime)
        if mask is None or len(mask) != len(self.names):
            mask = self._runtime_masks[runtime] = np.array(
                [runtime in r for r in self.runtimes], dtype=bool
            )
        return mask

    def forget_masks(self) -> None:
        self._runtime_masks.clear()

    @classmethod
    def build(cls, rows: list[dict[str, Any]]) -> Hosts:
        """From dicts with the field names above (tests and small snapshots)."""

        def col(name: str, dtype: type = float) -> np.ndarray:
            return np.array([r.get(name, 0) for r in rows], dtype=dtype)

        return cls(
            names=[r["name"] for r in rows],
            cpu_total=col("cpu_total"),
            cpu_capacity=np.array(
                [r.get("cpu_capacity", r.get("cpu_total", 0)) for r in rows], dtype=float
            ),
            cpu_used=col("cpu_used"),
            memory_capacity=col("memory_capacity"),
            memory_used=col("memory_used"),
            disk_capacity=np.array([r.get("disk_capacity", np.inf) for r in rows], dtype=float),
            disk_used=col("disk_used"),
            runtimes=[frozenset(r.get("runtimes", ("runc",))) for r in rows],
            up=np.array([r.get("up", True) for r in rows], dtype=bool),
            labels=[dict(r.get("labels", {})) for r in rows],
            dedicated_free=np.array([r.get("dedicated_free", 0) for r in rows], dtype=float),
            hugepages_2m_free=np.array([r.get("hugepages_2m_free", 0) for r in rows], dtype=float),
            hugepages_1g_free=np.array([r.get("hugepages_1g_free", 0) for r in rows], dtype=float),
            capsule_labels=[Counter(r.get("capsule_labels", {})) for r in rows],
        )


@dataclass(slots=True)
class FilterResult:
    """Which hosts pass, and for each one that does not, why."""

    passed: np.ndarray  # bool per host
    reasons: dict[int, str] = field(default_factory=dict)  # host row -> reason


class Filter(Protocol):
    NAME: str

    def filter(self, demand: Demand, hosts: Hosts, *, explain: bool = True) -> FilterResult | None:
        """Which hosts pass; None when the demand does not engage this filter at all."""
        ...


class Score(Protocol):
    NAME: str

    def score(self, demand: Demand, hosts: Hosts) -> np.ndarray:
        """0..100 per host; higher is better."""
        ...
