"""Quotas per project and quota classes, in Zun's resources and defaults.

A project's limit for a resource is its own row, else the ``default`` class
row, else Zun's built-in default. -1 means unlimited.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runner.containers import ContainerStatus
from runner.store.base import StoreBase
from runner.store.schema import capsules, containers, quota_classes, quotas

RESOURCES = ("containers", "cpu", "memory", "disk")
ZUN_DEFAULTS: dict[str, float] = {"containers": 40, "cpu": 20, "memory": 51200, "disk": 100}
DEFAULT_CLASS = "default"


def _number(resource: str, value: float) -> float | int:
    return value if resource == "cpu" and value != int(value) else int(value)


class QuotaQueries(StoreBase):
    def quota_class(self, name: str = DEFAULT_CLASS) -> dict[str, float | int]:
        with self._read() as conn:
            rows = {r.resource: r.hard_limit for r in conn.execute(quota_classes.select().where(quota_classes.c.class_name == name))}
        return {res: _number(res, rows.get(res, ZUN_DEFAULTS[res])) for res in RESOURCES}

    def set_quota_class(self, name: str, limits: dict[str, float]) -> dict[str, float | int]:
        with self._write() as conn:
            for res, value in limits.items():
                conn.execute(quota_classes.delete().where(quota_classes.c.class_name == name, quota_classes.c.resource == res))
                conn.execute(quota_classes.insert().values(class_name=name, resource=res, hard_limit=value))
        return self.quota_class(name)

    def quota(self, project_id: str) -> dict[str, float | int]:
        defaults = self.quota_class()
        with self._read() as conn:
            rows = {r.resource: r.hard_limit for r in conn.execute(quotas.select().where(quotas.c.project_id == project_id))}
        return {res: _number(res, rows[res]) if res in rows else defaults[res] for res in RESOURCES}

    def set_quota(self, project_id: str, limits: dict[str, float]) -> dict[str, float | int]:
        with self._write() as conn:
            for res, value in limits.items():
                conn.execute(quotas.delete().where(quotas.c.project_id == project_id, quotas.c.resource == res))
                conn.execute(quotas.insert().values(project_id=project_id, resource=res, hard_limit=value))
        return self.quota(project_id)

    def delete_quota(self, project_id: str) -> None:
        with self._write() as conn:
            conn.execute(quotas.delete().where(quotas.c.project_id == project_id))

    def usage(self, project_id: str) -> dict[str, Any]:
        """What the project's Zun containers and capsules hold now."""
        used = {"containers": 0, "cpu": 0.0, "memory": 0, "disk": 0}
        live = [s.value for s in ContainerStatus if s is not ContainerStatus.DELETED]
        with self._read() as conn:
            rows = list(conn.execute(sa.select(containers.c.capsule).where(containers.c.project_id == project_id, containers.c.status.in_(live))))
            rows += list(conn.execute(sa.select(capsules.c.capsule).where(capsules.c.project_id == project_id)))
        for (capsule,) in rows:
            for c in capsule["containers"]:
                r = c.get("resources", {})
                used["containers"] += 1
                used["cpu"] += float(r.get("cpu", 0))
                used["memory"] += int(r.get("memory_mb", 0))
                used["disk"] += int(r.get("disk_gb", 0))
        return used
