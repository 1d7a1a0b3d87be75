"""The placement actor's view of each host: what its node last reported, how that becomes a
row of the ``HostTable`` placement decides on, and the host's line in ``health()``."""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.table import HostTable
from runner.settings import Settings


@dataclass(slots=True)
class HostState:
    """What a node last told us about its host."""

    name: str
    cpu_total: float
    memory_mb: float
    runtimes: list[str]
    docker_ok: bool = True
    docker_error: str = ""
    last_seen: float = 0.0
    up: bool = True
    info: dict = field(default_factory=dict)

    def _decides(self) -> tuple:
        """What can change a placement decision: only a change of these schedules a round."""
        return (
            self.up,
            self.cpu_total,
            self.memory_mb,
            self.runtimes,
            self.docker_ok,
            self.info.get("labels"),
        )

    def apply(self, report: dict, now: float) -> bool:
        """Take a heartbeat in; whether it changed what placement decides on."""
        before = self._decides()
        self.cpu_total = float(report["cpus"])
        self.memory_mb = float(report["memory_mb"])
        self.runtimes = list(report["runtimes"])
        self.docker_ok = bool(report["docker_ok"])
        self.docker_error = report.get("docker_error", "")
        self.last_seen = now
        self.up = True
        self.info = report
        return before != self._decides()

    def upsert_into(self, table: HostTable, settings: Settings, pending_pins: float) -> None:
        """Its row in the table, capacities scaled by the allocation ratios; ``pending_pins``:
        dedicated cpus claimed here that the node had not pinned yet when it reported."""
        table.upsert(
            self.name,
            cpu_total=self.cpu_total,
            cpu_capacity=self.cpu_total * settings.cpu_allocation_ratio,
            memory_capacity=self.memory_mb * settings.memory_allocation_ratio,
            runtimes=frozenset(self.runtimes),
            up=self.docker_ok,
            labels=self.info.get("labels") or {},
            dedicated_free=float(self.info.get("dedicated_free", 0)) - pending_pins,
            hugepages=self.info.get("hugepages") or {},
        )

    def health(self, table: HostTable, disabled: dict[str, str]) -> dict:
        """Its line in ``PlacementActor.health()``: the report, what is claimed, whether enabled."""
        row = table.index[self.name]
        return {
            "name": self.name,
            "up": self.up,
            "last_seen": self.last_seen,  # the last heartbeat (wall clock)
            "docker_ok": self.docker_ok,
            "docker_error": self.docker_error,
            "cpus": self.cpu_total,
            "memory_mb": self.memory_mb,
            "runtimes": self.runtimes,
            "cpu_used": float(table.hosts.cpu_used[row]),
            "memory_used_mb": float(table.hosts.memory_used[row]),
            "enabled": self.name not in disabled,
            "disabled_reason": disabled.get(self.name, ""),
            "labels": self.info.get("labels") or {},
            "disk_total_gb": int(self.info.get("disk_total_gb", 0)),  # the engine's data root
            "disk_used_gb": int(self.info.get("disk_used_gb", 0)),
            "pid": self.info.get("pid"),
            "pinned_cpus": self.info.get("pinned_cpus") or [],
            "hugepages": self.info.get("hugepages") or {},
        }
