"""Image registries (Zun's registries API); passwords are stored sealed."""

from __future__ import annotations

import time
from typing import Any


from runner.errors import NotFound
from runner.store.base import Tables
from runner.store.schema import registries


class RegistryQueries(Tables):
    def create_registry(self, values: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        with self._write() as conn:
            conn.execute(registries.insert().values(created_at=now, updated_at=now, **values))
        return self.get_registry(values["uuid"])

    def get_registry(self, ident: str, *, project_id: str | None = None) -> dict[str, Any]:
        return dict(
            self._by_ident(registries, ident, project_id=project_id, kind="registry")._mapping
        )

    def list_registries(
        self, *, project_id: str | None, limit: int = 1000, marker: str | None = None
    ) -> list[dict[str, Any]]:
        query = (
            registries.select().order_by(registries.c.created_at, registries.c.uuid).limit(limit)
        )
        if project_id is not None:
            query = query.where(registries.c.project_id == project_id)
        with self._read() as conn:
            if marker is not None:
                query = query.where(
                    self._after_marker(
                        conn, registries, registries.c.created_at, marker, project_id=project_id
                    )
                )
            return [dict(r._mapping) for r in conn.execute(query)]

    def update_registry(self, uuid: str, values: dict[str, Any]) -> dict[str, Any]:
        row = self._cas_update(registries, uuid, **values)
        if row is None:
            raise NotFound(f"Registry {uuid} could not be found.")
        return dict(row._mapping)

    def delete_registry(self, uuid: str) -> None:
        with self._write() as conn:
            conn.execute(registries.delete().where(registries.c.uuid == uuid))
