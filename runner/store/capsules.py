"""Zun capsule queries."""

from __future__ import annotations

import time
from typing import Any, Iterable

import sqlalchemy as sa

from runner.containers import CONTAINER_TRANSITIONS, Capsule, ContainerStatus
from runner.demand import quota_demand
from runner.models import CapsuleSpec, sources_of
from runner.store.base import Database, Tables, record_created
from runner.store.quotas import QuotaQueries
from runner.store.schema import capsules


def _row_to_capsule(row: sa.Row) -> Capsule:
    m = row._mapping
    return Capsule(
        uuid=m["uuid"],
        name=m["name"],
        project_id=m["project_id"],
        user_id=m["user_id"],
        capsule=CapsuleSpec.from_dict(m["capsule"]),
        status=ContainerStatus(m["status"]),
        status_reason=m["status_reason"],
        host=m["host"],
        restart_policy=m["restart_policy"],
        labels=dict(m["labels"] or {}),
        annotations=dict(m["annotations"] or {}),
        members=dict(m["members"] or {}),
        trace_context=dict(m["trace_context"] or {}),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


class CapsuleQueries(Tables):
    """Zun capsules."""

    def __init__(self, db: Database, quotas: QuotaQueries) -> None:
        super().__init__(db)
        self.quotas = quotas  # admission counts every kind's demand against one quota

    def create_capsule(self, c: Capsule, *, limits: dict[str, float] | None = None) -> Capsule:
        """Insert; with ``limits``, only if the project's quota admits it (one transaction)."""
        now = time.time()
        with self._write() as conn:
            if limits is not None:
                self.quotas.admit(conn, c.project_id, quota_demand(c.capsule), limits)
            conn.execute(
                capsules.insert().values(
                    uuid=c.uuid,
                    name=c.name,
                    project_id=c.project_id,
                    user_id=c.user_id,
                    status=c.status.value,
                    status_reason=c.status_reason,
                    host=None,
                    restart_policy=c.restart_policy,
                    capsule=c.capsule.to_dict(),
                    labels=c.labels,
                    annotations=c.annotations,
                    members=c.members,
                    trace_context=c.trace_context,
                    created_at=now,
                    updated_at=now,
                )
            )
            record_created(conn, "capsule", [c.uuid], now, c.status.value, "created")
        return self.get_capsule(c.uuid)

    def get_capsule(self, ident: str, *, project_id: str | None = None) -> Capsule:
        return _row_to_capsule(
            self._by_ident(capsules, ident, project_id=project_id, kind="capsule")
        )

    def list_capsules(
        self,
        *,
        project_id: str | None,
        limit: int = 1000,
        marker: str | None = None,
        statuses: Iterable[ContainerStatus] = (),
        host: str | None = None,
    ) -> list[Capsule]:
        query = capsules.select().order_by(capsules.c.created_at, capsules.c.uuid).limit(limit)
        if project_id is not None:
            query = query.where(capsules.c.project_id == project_id)
        if host is not None:
            query = query.where(capsules.c.host == host)
        wanted = [s.value for s in statuses]
        if wanted:
            query = query.where(capsules.c.status.in_(wanted))
        with self._read() as conn:
            if marker is not None:
                query = query.where(
                    self._after_marker(
                        conn, capsules, capsules.c.created_at, marker, project_id=project_id
                    )
                )
            return [_row_to_capsule(r) for r in conn.execute(query)]

    def update_capsule(
        self, uuid: str, *, only_in: Iterable[ContainerStatus] | None = None, **fields: Any
    ) -> Capsule | None:
        """Set columns other than the status (``transition_capsule`` changes that)."""
        if "status" in fields:
            raise TypeError("a status changes through transition_capsule")
        conditions = [] if only_in is None else [capsules.c.status.in_([s.value for s in only_in])]
        row = self._cas_update(capsules, uuid, *conditions, **fields)
        return None if row is None else _row_to_capsule(row)

    def transition_capsule(
        self,
        uuid: str,
        to: ContainerStatus,
        *,
        reason: str | None = None,
        only_from: Iterable[ContainerStatus] | None = None,
        **fields: Any,
    ) -> Capsule | None:
        """Move a capsule to ``to`` as ``CONTAINER_TRANSITIONS`` allows, with its history event;
        None if not allowed from where it is (or if it is gone)."""
        allowed = sources_of(to, CONTAINER_TRANSITIONS)
        if only_from is not None:
            allowed &= frozenset(only_from)
        row = self._transition(
            capsules,
            capsules.c.uuid,
            uuid,
            kind="capsule",
            to=to.value,
            sources=[s.value for s in allowed],
            reason=reason,
            **fields,
        )
        return None if row is None else _row_to_capsule(row)

    def claim_capsule_host(self, uuid: str, host: str) -> Capsule | None:
        """Place a capsule still waiting for a host (compare-and-set)."""
        row = self._cas_update(
            capsules,
            uuid,
            capsules.c.status == ContainerStatus.CREATING.value,
            capsules.c.host.is_(None),
            host=host,
            status_reason=f"placed on {host}",
        )
        return None if row is None else _row_to_capsule(row)

    def delete_capsule(self, uuid: str) -> None:
        with self._write() as conn:
            conn.execute(capsules.delete().where(capsules.c.uuid == uuid))
            self._forget_events(conn, uuid)
