"""The store's plumbing: engine, migrations, read and write transactions."""

from __future__ import annotations

import re
import time
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from runner.errors import Conflict, NotFound, Unavailable
from runner.store.engine import create_engine, is_sqlite
from runner.store.schema import events

#: history events kept per object: a container that crash-loops for months keeps only its latest
EVENTS_PER_OBJECT = 200

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def minute_of(column: sa.ColumnElement) -> sa.ColumnElement:
    """The epoch minute an epoch-seconds column falls in, the same on SQLite and PostgreSQL: integer
    division of milliseconds (a float cast to an integer truncates on one and rounds on the other)."""
    return sa.cast(column * 1000, sa.BigInteger) // 60_000


class Database:
    """An engine plus the two kinds of transaction the queries use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)

    # -- plumbing ---------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest alembic revision."""
        cfg = Config(str(Path(__file__).with_name("alembic.ini")))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                if is_sqlite(self.engine):
                    conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
                with conn.begin():
                    yield conn
        except sa.exc.OperationalError as exc:
            raise Unavailable(f"store unavailable: {exc.orig}") from exc

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise Unavailable(f"store unavailable: {exc.orig}") from exc

    def ping(self) -> None:
        with self._read() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


class Tables:
    """The queries of one group of tables, over a shared ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _write(self) -> AbstractContextManager[sa.Connection]:
        return self.db._write()

    def _read(self) -> AbstractContextManager[sa.Connection]:
        return self.db._read()

    # -- the one way any kind's status changes ----------------------------
    def _transition(
        self,
        table: sa.Table,
        key: sa.Column,
        ident: str,
        *,
        kind: str,
        to: str,
        sources: Iterable[str],
        reason: str | None,
        conditions: Sequence[sa.ColumnElement] = (),
        then: Callable[[sa.Connection], None] | None = None,
        **values: Any,
    ) -> sa.Row | None:
        """Move one row to status ``to`` if its status is one of ``sources`` and ``conditions``
        hold (compare-and-set), with its history event in the same transaction; the new row, or
        None if the row is absent or the change is not allowed from where it is.

        ``reason`` (None: unchanged) becomes the status reason and the event's; ``values`` are
        other columns set at the same time; ``then`` runs in the transaction before it commits.
        A change to the status the row already has writes no event.
        """
        now = time.time()
        fields = {"status": to, "updated_at": now, **values}
        if reason is not None:
            fields["status_reason"] = reason
        with self._write() as conn:
            row = conn.execute(
                sa.select(table.c.status).where(key == ident, *conditions).with_for_update()
            ).one_or_none()
            if row is None or row.status not in set(sources):
                return None
            conn.execute(table.update().where(key == ident).values(**fields))
            if row.status != to:
                _record_event(conn, kind, ident, now, to, reason or "")
            if then is not None:
                then(conn)
            return conn.execute(table.select().where(key == ident)).one()

    def _forget_events(self, conn: sa.Connection, *object_ids: str) -> None:
        conn.execute(events.delete().where(events.c.object_id.in_(object_ids)))

    def events_of(self, object_id: str) -> list[dict[str, Any]]:
        """An object's status changes, oldest first: ``{"at", "status", "reason"}``."""
        query = events.select().where(events.c.object_id == object_id).order_by(events.c.id)
        with self._read() as conn:
            return [
                {"at": r.at, "status": r.status, "reason": r.reason} for r in conn.execute(query)
            ]

    # -- helpers shared by the Zun object kinds (rows keyed by ``uuid``) ---
    def _cas_update(
        self, table: sa.Table, uuid: str, *conditions: sa.ColumnElement, **values: object
    ) -> sa.Row | None:
        """UPDATE one row if ``conditions`` hold (compare-and-set); the new row or None."""
        with self._write() as conn:
            query = (
                table.update()
                .where(table.c.uuid == uuid, *conditions)
                .values(updated_at=time.time(), **values)
            )
            if conn.execute(query).rowcount == 0:
                return None
            return conn.execute(table.select().where(table.c.uuid == uuid)).one()

    def _by_ident(
        self, table: sa.Table, ident: str, *, project_id: str | None, kind: str
    ) -> sa.Row:
        """By uuid, or by name when unique in scope: 404 if absent, 409 if ambiguous."""
        query = table.select()
        if project_id is not None:
            query = query.where(table.c.project_id == project_id)
        query = (
            query.where(table.c.uuid == ident)
            if UUID_RE.match(ident)
            else query.where(table.c.name == ident).limit(2)
        )
        with self._read() as conn:
            rows = list(conn.execute(query))
        if not rows:
            raise NotFound(f"{kind.capitalize()} {ident} could not be found.")
        if len(rows) > 1:
            raise Conflict(
                f"Multiple {kind}s exist with same name {ident}. Please use the {kind} uuid instead."
            )
        return rows[0]

    @staticmethod
    def _after_marker(
        conn: sa.Connection,
        table: sa.Table,
        column: sa.Column,
        marker: str,
        *,
        project_id: str | None,
        ascending: bool = True,
    ) -> sa.ColumnElement:
        """The WHERE clause of the page after ``marker`` in (column, uuid) order.

        A marker outside ``project_id`` is as unknown as one that never existed.
        """
        query = sa.select(column).where(table.c.uuid == marker)
        if project_id is not None:
            query = query.where(table.c.project_id == project_id)
        mark = conn.execute(query).one_or_none()
        if mark is None:
            raise NotFound(f"marker {marker} not found")
        value = mark[0]
        if ascending:
            return sa.or_(column > value, sa.and_(column == value, table.c.uuid > marker))
        return sa.or_(column < value, sa.and_(column == value, table.c.uuid < marker))


def _record_event(
    conn: sa.Connection, kind: str, object_id: str, at: float, status: str, reason: str
) -> None:
    """Append one history event, dropping the object's oldest past ``EVENTS_PER_OBJECT``."""
    conn.execute(
        events.insert().values(kind=kind, object_id=object_id, at=at, status=status, reason=reason)
    )
    oldest_kept = (
        sa.select(events.c.id)
        .where(events.c.object_id == object_id)
        .order_by(events.c.id.desc())
        .offset(EVENTS_PER_OBJECT - 1)
        .limit(1)
        .scalar_subquery()
    )
    conn.execute(events.delete().where(events.c.object_id == object_id, events.c.id < oldest_kept))


def record_created(
    conn: sa.Connection,
    kind: str,
    object_ids: list[str],
    at: float,
    status: str,
    reason: str = "submitted",
) -> None:
    """The first event of each new object, written with its row (one statement for a batch)."""
    conn.execute(
        events.insert(),
        [
            {"kind": kind, "object_id": i, "at": at, "status": status, "reason": reason}
            for i in object_ids
        ],
    )
