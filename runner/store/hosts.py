"""Hosts an operator enabled or disabled for new placements."""

from __future__ import annotations

import time

import sqlalchemy as sa

from runner.store.base import Tables
from runner.store.schema import host_admin


class HostQueries(Tables):
    def set_host_enabled(self, name: str, enabled: bool, reason: str = "") -> None:
        with self._write() as conn:
            conn.execute(host_admin.delete().where(host_admin.c.name == name))
            conn.execute(
                host_admin.insert().values(
                    name=name, enabled=enabled, reason=reason, updated_at=time.time()
                )
            )

    def disabled_hosts(self) -> dict[str, str]:
        """Disabled host -> the operator's reason."""
        with self._read() as conn:
            return {
                r.name: r.reason
                for r in conn.execute(
                    sa.select(host_admin.c.name, host_admin.c.reason).where(
                        host_admin.c.enabled.is_(False)
                    )
                )
            }
