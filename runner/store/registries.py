"""Image registries (Zun's registries API); passwords are stored sealed."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from runner.errors import Conflict, NotFound
from runner.store.base import StoreBase
from runner.store.containers import _UUID_RE
from runner.store.schema import registries


class RegistryQueries(StoreBase):
    def create_registry(self, values: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        with self._write() as conn:
            conn.execute(registries.insert().values(created_at=now, updated_at=now, **values))
        return self.get_registry(values["uuid"])

    def get_registry(self, ident: str, *, project_id: str | None = None) -> dict[str, Any]:
        query = registries.select()
        if project_id is not None:
            query = query.where(registries.c.project_id == project_id)
        query = query.where(registries.c.uuid == ident) if _UUID_RE.match(ident) else query.where(registries.c.name == ident).limit(2)
        with self._read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        if not rows:
            raise NotFound(f"Registry {ident} could not be found.")
        if len(rows) > 1:
            raise Conflict(f"Multiple registries exist with same name {ident}. Please use the registry uuid instead.")
        return rows[0]

    def list_registries(self, *, project_id: str | None, limit: int = 1000, marker: str | None = None) -> list[dict[str, Any]]:
        query = registries.select().order_by(registries.c.created_at, registries.c.uuid).limit(limit)
        if project_id is not None:
            query = query.where(registries.c.project_id == project_id)
        with self._read() as conn:
            if marker is not None:
                mark = conn.execute(sa.select(registries.c.created_at).where(registries.c.uuid == marker)).one_or_none()
                if mark is None:
                    raise NotFound(f"marker {marker} not found")
                query = query.where(sa.or_(registries.c.created_at > mark[0], sa.and_(registries.c.created_at == mark[0], registries.c.uuid > marker)))
            return [dict(r._mapping) for r in conn.execute(query)]

    def update_registry(self, uuid: str, values: dict[str, Any]) -> dict[str, Any]:
        with self._write() as conn:
            conn.execute(registries.update().where(registries.c.uuid == uuid).values(updated_at=time.time(), **values))
        return self.get_registry(uuid)

    def delete_registry(self, uuid: str) -> None:
        with self._write() as conn:
            conn.execute(registries.delete().where(registries.c.uuid == uuid))
