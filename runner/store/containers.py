"""Zun container queries and the container action log."""

from __future__ import annotations

import time
from typing import Any, Iterable

import sqlalchemy as sa

from runner.containers import CONTAINER_TRANSITIONS, Container, ContainerStatus, check_action
from runner.demand import quota_demand
from runner.errors import NotFound
from runner.models import CapsuleSpec, sources_of
from runner.store.base import Database, Tables, record_created
from runner.store.quotas import QuotaQueries
from runner.store.schema import container_actions, containers

SORT_KEYS = ("created_at", "name", "status", "uuid", "updated_at", "host")


def _row_to_container(row: sa.Row) -> Container:
    m = row._mapping
    return Container(
        uuid=m["uuid"],
        name=m["name"],
        project_id=m["project_id"],
        user_id=m["user_id"],
        capsule=CapsuleSpec.from_dict(m["capsule"]),
        status=ContainerStatus(m["status"]),
        task_state=m["task_state"],
        status_reason=m["status_reason"],
        status_detail=m["status_detail"],
        host=m["host"],
        container_id=m["container_id"],
        start_on_create=bool(m["start_on_create"]),
        spec=dict(m["spec"] or {}),
        trace_context=dict(m["trace_context"] or {}),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        started_at=m["started_at"],
    )


class ContainerQueries(Tables):
    """Zun containers (a capsule of one that stays up) and their actions."""

    def __init__(self, db: Database, quotas: QuotaQueries) -> None:
        super().__init__(db)
        self.quotas = quotas  # admission counts every kind's demand against one quota

    def create_container(
        self, c: Container, *, limits: dict[str, float] | None = None
    ) -> Container:
        """Insert; with ``limits``, only if the project's quota admits it (one transaction)."""
        now = time.time()
        with self._write() as conn:
            if limits is not None:
                self.quotas.admit(conn, c.project_id, quota_demand(c.capsule), limits)
            conn.execute(
                containers.insert().values(
                    uuid=c.uuid,
                    name=c.name,
                    project_id=c.project_id,
                    user_id=c.user_id,
                    status=c.status.value,
                    task_state=c.task_state,
                    status_reason=c.status_reason,
                    status_detail=c.status_detail,
                    host=c.host,
                    container_id=None,
                    start_on_create=c.start_on_create,
                    capsule=c.capsule.to_dict(),
                    spec=c.spec,
                    trace_context=c.trace_context,
                    created_at=now,
                    updated_at=now,
                )
            )
            record_created(conn, "container", [c.uuid], now, c.status.value, "created")
        return self.get_container(c.uuid)

    def get_container(self, ident: str, *, project_id: str | None = None) -> Container:
        """By uuid, or by name when unique in scope; 404 if absent, 409 if ambiguous."""
        return _row_to_container(
            self._by_ident(containers, ident, project_id=project_id, kind="container")
        )

    def list_containers(
        self,
        *,
        project_id: str | None,
        limit: int = 1000,
        marker: str | None = None,
        sort_key: str = "created_at",
        sort_dir: str = "asc",
        host: str | None = None,
        statuses: Iterable[ContainerStatus] = (),
    ) -> list[Container]:
        column = containers.c[sort_key]
        order = (
            (column.asc(), containers.c.uuid.asc())
            if sort_dir == "asc"
            else (column.desc(), containers.c.uuid.desc())
        )
        query = containers.select().order_by(*order).limit(limit)
        if project_id is not None:
            query = query.where(containers.c.project_id == project_id)
        if host is not None:
            query = query.where(containers.c.host == host)
        wanted = [s.value for s in statuses]
        if wanted:
            query = query.where(containers.c.status.in_(wanted))
        with self._read() as conn:
            if marker is not None:
                query = query.where(
                    self._after_marker(
                        conn,
                        containers,
                        column,
                        marker,
                        project_id=project_id,
                        ascending=sort_dir == "asc",
                    )
                )
            return [_row_to_container(r) for r in conn.execute(query)]

    def update_container(
        self, uuid: str, *, only_in: Iterable[ContainerStatus] | None = None, **fields: Any
    ) -> Container | None:
        """Set columns other than the status (``transition_container`` changes that); with
        ``only_in``, only while the status is one of those.

        Returns the updated container, or None if ``only_in`` did not match.
        """
        if "status" in fields:
            raise TypeError("a status changes through transition_container")
        values = dict(fields)
        if isinstance(values.get("capsule"), CapsuleSpec):
            values["capsule"] = values["capsule"].to_dict()
        conditions = (
            [] if only_in is None else [containers.c.status.in_([s.value for s in only_in])]
        )
        row = self._cas_update(containers, uuid, *conditions, **values)
        return None if row is None else _row_to_container(row)

    def transition_container(
        self,
        uuid: str,
        to: ContainerStatus,
        *,
        reason: str | None = None,
        only_from: Iterable[ContainerStatus] | None = None,
        **fields: Any,
    ) -> Container | None:
        """Move a container to ``to`` if ``CONTAINER_TRANSITIONS`` (narrowed by ``only_from``)
        allows it from where it is, with its history event; None if not (or if it is gone)."""
        allowed = sources_of(to, CONTAINER_TRANSITIONS)
        if only_from is not None:
            allowed &= frozenset(only_from)
        row = self._transition(
            containers,
            containers.c.uuid,
            uuid,
            kind="container",
            to=to.value,
            sources=[s.value for s in allowed],
            reason=reason,
            **fields,
        )
        return None if row is None else _row_to_container(row)

    def resize_container(
        self, uuid: str, *, cpu: float | None, memory_mb: int | None, limits: dict[str, float]
    ) -> tuple[Container, Container]:
        """Change the container's cpu and memory (None: kept) if its state allows it (409) and
        its project's quota admits the growth (403), in one transaction as a creation is admitted:
        two resizes at once cannot both take the last of the quota. (before, after)."""
        with self._write() as conn:
            row = conn.execute(containers.select().where(containers.c.uuid == uuid)).first()
            if row is None:
                raise NotFound(f"Container {uuid} could not be found.")
            before = _row_to_container(row)
            check_action(uuid, before.status, "resize_container")
            capsule = before.resized(cpu=cpu, memory_mb=memory_mb)
            old, new = quota_demand(before.capsule), quota_demand(capsule)
            growth = {res: max(new[res] - old[res], 0) for res in new}
            if any(growth.values()):  # shrinking never meets the quota
                # only what grows is checked: a project over a lowered limit may still shrink or
                # grow something else
                grown = {res: limits[res] if growth.get(res) else -1 for res in limits}
                self.quotas.admit(conn, before.project_id, growth, grown)
            conn.execute(
                containers.update()
                .where(containers.c.uuid == uuid)
                .values(capsule=capsule.to_dict(), updated_at=time.time())
            )
        return before, self.get_container(uuid)

    def claim_container_host(self, uuid: str, host: str) -> Container | None:
        """Place a container still waiting for a host (compare-and-set)."""
        row = self._cas_update(
            containers,
            uuid,
            containers.c.status == ContainerStatus.CREATING.value,
            containers.c.host.is_(None),
            host=host,
            status_reason=f"placed on {host}",
        )
        return None if row is None else _row_to_container(row)

    def delete_container(self, uuid: str) -> None:
        with self._write() as conn:
            conn.execute(containers.delete().where(containers.c.uuid == uuid))
            self._forget_events(conn, uuid)

    # -- the action log (Zun's container_actions) -------------------------
    def start_action(
        self, uuid: str, action: str, *, request_id: str, user_id: str, project_id: str
    ) -> None:
        with self._write() as conn:
            conn.execute(
                container_actions.insert().values(
                    container_uuid=uuid,
                    action=action,
                    request_id=request_id,
                    user_id=user_id,
                    project_id=project_id,
                    start_time=time.time(),
                )
            )

    def finish_action(self, uuid: str, request_id: str, *, error: str | None = None) -> None:
        with self._write() as conn:
            conn.execute(
                container_actions.update()
                .where(
                    container_actions.c.container_uuid == uuid,
                    container_actions.c.request_id == request_id,
                )
                .values(
                    finish_time=time.time(), result="Error" if error else "Success", message=error
                )
            )

    def list_actions(self, uuid: str) -> list[dict[str, Any]]:
        query = (
            container_actions.select()
            .where(container_actions.c.container_uuid == uuid)
            .order_by(container_actions.c.id.desc())
        )
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
