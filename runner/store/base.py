"""The store's plumbing: engine, migrations, read and write transactions."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from runner.errors import Unavailable
from runner.store.engine import create_engine, is_sqlite


class StoreBase:
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

