"""Quotas per project and quota classes, in Zun's resources and defaults.

A project's limit for a resource is its own row, else the ``default`` class
row, else Zun's built-in default. -1 means unlimited.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from policies.quota import RESOURCES, over_quota
from runner.containers import ContainerStatus
from runner.demand import quota_demand
from runner.errors import OverQuota
from runner.models import CapsuleSpec
from runner.store.base import Tables
from runner.store.schema import capsules, containers, quota_classes, quotas

ZUN_DEFAULTS: dict[str, float] = {"containers": 40, "cpu": 20, "memory": 51200, "disk": 100}
DEFAULT_CLASS = "default"


def _number(resource: str, value: float) -> float | int:
    return value if resource == "cpu" and value != int(value) else int(value)


class QuotaQueries(Tables):
    def quota_class(self, name: str = DEFAULT_CLASS) -> dict[str, float | int]:
        with self._read() as conn:
            rows = {
                r.resource: r.hard_limit
                for r in conn.execute(
                    quota_classes.select().where(quota_classes.c.class_name == name)
                )
            }
        return {res: _number(res, rows.get(res, ZUN_DEFAULTS[res])) for res in RESOURCES}

    def set_quota_class(self, name: str, limits: dict[str, float]) -> dict[str, float | int]:
        with self._write() as conn:
            for res, value in limits.items():
                conn.execute(
                    quota_classes.delete().where(
                        quota_classes.c.class_name == name, quota_classes.c.resource == res
                    )
                )
                conn.execute(
                    quota_classes.insert().values(class_name=name, resource=res, hard_limit=value)
                )
        return self.quota_class(name)

    def quota(self, project_id: str) -> dict[str, float | int]:
        defaults = self.quota_class()
        with self._read() as conn:
            rows = {
                r.resource: r.hard_limit
                for r in conn.execute(quotas.select().where(quotas.c.project_id == project_id))
            }
        return {res: _number(res, rows[res]) if res in rows else defaults[res] for res in RESOURCES}

    def set_quota(self, project_id: str, limits: dict[str, float]) -> dict[str, float | int]:
        with self._write() as conn:
            for res, value in limits.items():
                conn.execute(
                    quotas.delete().where(
                        quotas.c.project_id == project_id, quotas.c.resource == res
                    )
                )
                conn.execute(
                    quotas.insert().values(project_id=project_id, resource=res, hard_limit=value)
                )
        return self.quota(project_id)

    def quota_overrides(self, project_id: str, resources: tuple[str, ...]) -> dict[str, int]:
        """The project's own rows among ``resources`` (no class or default behind them)."""
        query = quotas.select().where(
            quotas.c.project_id == project_id, quotas.c.resource.in_(resources)
        )
        with self._read() as conn:
            return {r.resource: int(r.hard_limit) for r in conn.execute(query)}

    def delete_quota(self, project_id: str) -> None:
        with self._write() as conn:
            conn.execute(quotas.delete().where(quotas.c.project_id == project_id))

    def usage(self, project_id: str) -> dict[str, Any]:
        """What the project's Zun containers and capsules hold now."""
        with self._read() as conn:
            return _usage(conn, project_id)

    def admit(
        self,
        conn: sa.Connection,
        project_id: str,
        demand: dict[str, float],
        limits: dict[str, float],
    ) -> None:
        """Raise OverQuota unless ``demand`` fits under ``limits`` now.

        Runs inside the creating transaction with the project locked, so
        concurrent admissions are serialised: SQLite's BEGIN IMMEDIATE already
        is; PostgreSQL takes a transaction-scoped advisory lock per project.
        """
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:p))"),
                {"p": f"zunray-quota:{project_id}"},
            )
        used = _usage(conn, project_id)
        if over := over_quota(used, demand, limits):
            raise OverQuota(f"Quota exceeded for resources: {over}")


def _usage(conn: sa.Connection, project_id: str) -> dict[str, Any]:
    used = {"containers": 0, "cpu": 0.0, "memory": 0, "disk": 0}
    live = [s.value for s in ContainerStatus if s is not ContainerStatus.DELETED]
    rows = list(
        conn.execute(
            sa.select(containers.c.capsule).where(
                containers.c.project_id == project_id, containers.c.status.in_(live)
            )
        )
    )
    rows += list(
        conn.execute(sa.select(capsules.c.capsule).where(capsules.c.project_id == project_id))
    )
    for (capsule,) in rows:
        for res, value in quota_demand(CapsuleSpec.from_dict(capsule)).items():
            used[res] += value
    return used
