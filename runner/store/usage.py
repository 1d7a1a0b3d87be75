"""Usage records: what each capsule held, interval by interval, for billing."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from runner.store.base import Tables, minute_of
from runner.store.schema import usage

COLUMNS = tuple(c.name for c in usage.columns if c.name != "id")


class UsageQueries(Tables):
    def record_usage(self, rows: Iterable[dict]) -> None:
        rows = list(rows)
        if rows:
            with self._write() as conn:
                conn.execute(usage.insert(), rows)

    def last_metered(self, object_ids: Iterable[str]) -> dict[str, float]:
        """Where each object's metering stopped last (the end of its newest record)."""
        ids = list(object_ids)
        if not ids:
            return {}
        query = (
            sa.select(usage.c.object_id, sa.func.max(usage.c.ended_at))
            .where(usage.c.object_id.in_(ids))
            .group_by(usage.c.object_id)
        )
        with self._read() as conn:
            return {oid: end for oid, end in conn.execute(query)}

    def usage_columns(self, *, start: float, end: float, project_id: str | None) -> dict[str, list]:
        """Records that ended in [start, end), column by column (fast to turn into Arrow)."""
        query = sa.select(*(usage.c[name] for name in COLUMNS)).where(
            usage.c.ended_at >= start, usage.c.ended_at < end
        )
        if project_id is not None:
            query = query.where(usage.c.project_id == project_id)
        with self._read() as conn:
            rows = conn.execute(query.order_by(usage.c.ended_at)).fetchall()
        return {name: [r[i] for r in rows] for i, name in enumerate(COLUMNS)}

    def cpu_s_per_minute(
        self, *, start: float, end: float, project_id: str | None
    ) -> list[tuple[str, float, float]]:
        """(project, minute start, cpu-seconds) of the records that ended in [start, end) (the usage chart)."""
        minute = minute_of(usage.c.ended_at)
        query = (
            sa.select(usage.c.project_id, minute, sa.func.sum(usage.c.cpu_s))
            .where(usage.c.ended_at >= start, usage.c.ended_at < end)
            .group_by(usage.c.project_id, minute)
        )
        if project_id is not None:
            query = query.where(usage.c.project_id == project_id)
        with self._read() as conn:
            return [(p, m * 60.0, cpu_s) for p, m, cpu_s in conn.execute(query)]
