"""Hosts an operator enabled or disabled for new placements, or forced down."""

from __future__ import annotations

import time
from dataclasses import dataclass


from runner.store.base import Tables
from runner.store.schema import host_admin

FORCED_DOWN = "forced down by an operator"  # why placement skips a forced-down host


@dataclass(frozen=True, slots=True)
class HostAdmin:
    """What an operator set on a host (hosts never touched have no record: enabled, up)."""

    enabled: bool = True
    reason: str = ""  # why it was disabled
    forced_down: bool = False
    updated_at: float | None = None


class HostQueries(Tables):
    def _set(self, name: str, **values: object) -> None:
        """Change some of a host's fields, the others kept (a new record starts from the defaults)."""
        with self._write() as conn:
            row = conn.execute(host_admin.select().where(host_admin.c.name == name)).first()
            if row is None:
                fields = {"enabled": True, "reason": "", "forced_down": False, **values}
                conn.execute(
                    host_admin.insert().values(name=name, updated_at=time.time(), **fields)
                )
            else:
                conn.execute(
                    host_admin.update()
                    .where(host_admin.c.name == name)
                    .values(updated_at=time.time(), **values)
                )

    def set_host_enabled(self, name: str, enabled: bool, reason: str = "") -> None:
        self._set(name, enabled=enabled, reason=reason)

    def set_host_forced_down(self, name: str, forced_down: bool) -> None:
        self._set(name, forced_down=forced_down)

    def host_admin(self) -> dict[str, HostAdmin]:
        """Every host an operator changed -> what was set."""
        with self._read() as conn:
            return {
                r.name: HostAdmin(r.enabled, r.reason, r.forced_down, r.updated_at)
                for r in conn.execute(host_admin.select())
            }

    def disabled_hosts(self) -> dict[str, str]:
        """Hosts placement must skip -> why: disabled (the operator's reason) or forced down."""
        return {
            name: FORCED_DOWN if a.forced_down else a.reason
            for name, a in self.host_admin().items()
            if a.forced_down or not a.enabled
        }
