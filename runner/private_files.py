"""Data at rest is the owner's alone: the data directory 0700, its databases, keys and tokens 0600.

Files are created with their mode (``os.open``), never created open and
narrowed later; ``secure_data_dir`` also narrows what an older version or an
operator left looser, each time Zunray starts. Only the top of the data
directory is fenced: containers reach their own subdirectories (function
sockets, VM runs) through bind mounts, which do not traverse it.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from runner.settings import Settings

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) owner-only, or narrow it if it is looser."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _narrow(path, DIR_MODE)


def private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only unless it exists; narrow it if it is looser."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        _narrow(path, FILE_MODE)


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite store URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


def private_sqlite(path: Path) -> None:
    """The database owner-only before SQLite opens it: its WAL and SHM files take the database's mode."""
    if (
        not path.parent.exists()
    ):  # an existing parent (the operator's /var/lib/...) is not ours to narrow
        private_dir(path.parent)
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            _narrow(side, FILE_MODE)


def secure_data_dir(settings: Settings) -> None:
    """At start: the data directory, run and log directories, store, secret key and Ray token owner-only."""
    for path in (settings.data_dir, settings.run_dir, settings.data_dir / "logs"):
        private_dir(path)
    db = sqlite_file(settings.store_url_resolved)
    if db is not None:
        private_sqlite(db)
    for path in (settings.data_dir / "secret.key", settings.ray_token_file):
        if path.exists():
            _narrow(path, FILE_MODE)


def _narrow(path: Path, mode: int) -> None:
    if path.stat().st_mode & 0o777 & ~mode:
        os.chmod(path, mode)
