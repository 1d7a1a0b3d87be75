"""Cron schedules and their runs. A run is keyed by (schedule, scheduled time):
recording it twice is impossible, which is what makes restarts safe."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from runner.fair_share import check_schedules
from runner.store.base import Tables
from runner.store.schema import schedule_runs, schedules


class ScheduleQueries(Tables):
    def create_schedule(self, values: dict[str, Any], *, max_count: int = -1) -> dict[str, Any]:
        """Insert; ``max_count`` (>= 0) caps the project's schedules (``OverQuota`` past it, via ``check_schedules``)."""
        now = time.time()
        with self._write() as conn:
            if max_count >= 0:
                if (
                    conn.dialect.name == "postgresql"
                ):  # serialise the project's admissions, as quotas do
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(hashtext(:p))"),
                        {"p": f"zunray-schedules:{values['project_id']}"},
                    )
                count = conn.execute(
                    sa.select(sa.func.count()).where(schedules.c.project_id == values["project_id"])
                ).scalar_one()
                check_schedules({"schedules": max_count}, count)
            conn.execute(
                schedules.insert().values(
                    created_at=now, updated_at=now, checked_until=now, **values
                )
            )
        return self.get_schedule(values["uuid"])

    def get_schedule(self, ident: str, *, project_id: str | None = None) -> dict[str, Any]:
        return dict(
            self._by_ident(schedules, ident, project_id=project_id, kind="schedule")._mapping
        )

    def list_schedules(
        self,
        *,
        project_id: str | None,
        active_only: bool = False,
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[dict[str, Any]]:
        """By name; ``marker`` is the last id (uuid) of the previous page (404 if not the project's)."""
        query = schedules.select().order_by(schedules.c.name, schedules.c.uuid).limit(limit)
        if project_id is not None:
            query = query.where(schedules.c.project_id == project_id)
        if active_only:
            query = query.where(schedules.c.suspend.is_(False))
        with self._read() as conn:
            if marker is not None:
                query = query.where(
                    self._after_marker(
                        conn, schedules, schedules.c.name, marker, project_id=project_id
                    )
                )
            return [dict(r._mapping) for r in conn.execute(query)]

    def update_schedule(self, uuid: str, **values: Any) -> dict[str, Any] | None:
        row = self._cas_update(schedules, uuid, **values)
        return None if row is None else dict(row._mapping)

    def delete_schedule(self, uuid: str, *, purge: bool) -> None:
        with self._write() as conn:
            conn.execute(schedules.delete().where(schedules.c.uuid == uuid))
            if purge:
                conn.execute(schedule_runs.delete().where(schedule_runs.c.schedule_uuid == uuid))

    def record_run(
        self,
        schedule_uuid: str,
        scheduled_at: float,
        *,
        outcome: str,
        reason: str = "",
        job_id: str | None = None,
    ) -> bool:
        """Record one fire time's outcome; False if it was already recorded."""
        try:
            with self._write() as conn:
                conn.execute(
                    schedule_runs.insert().values(
                        schedule_uuid=schedule_uuid,
                        scheduled_at=scheduled_at,
                        outcome=outcome,
                        reason=reason,
                        job_id=job_id,
                        created_at=time.time(),
                    )
                )
            return True
        except sa.exc.IntegrityError:
            return False

    def set_run_job(self, schedule_uuid: str, scheduled_at: float, job_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                schedule_runs.update()
                .where(
                    schedule_runs.c.schedule_uuid == schedule_uuid,
                    schedule_runs.c.scheduled_at == scheduled_at,
                )
                .values(job_id=job_id)
            )

    def get_run(self, schedule_uuid: str, scheduled_at: float) -> dict[str, Any] | None:
        query = schedule_runs.select().where(
            schedule_runs.c.schedule_uuid == schedule_uuid,
            schedule_runs.c.scheduled_at == scheduled_at,
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else dict(row._mapping)

    def list_runs(self, schedule_uuid: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        query = (
            schedule_runs.select()
            .where(schedule_runs.c.schedule_uuid == schedule_uuid)
            .order_by(schedule_runs.c.scheduled_at.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
