"""Engine set-up: SQLite in WAL mode (the embedded default) or PostgreSQL by URL.

SQLite: every write transaction starts with ``BEGIN IMMEDIATE`` so that writers
queue on ``busy_timeout`` instead of failing on a lock upgrade; reads use a
plain deferred ``BEGIN`` and never block writers (WAL).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from runner.private_files import private_sqlite, sqlite_file

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    db = sqlite_file(url)
    if db is not None:
        private_sqlite(db)  # owner-only from its first byte (the store holds every project's data)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False}, pool_size=10, max_overflow=20
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable across process kills in WAL
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))

    return engine


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"
