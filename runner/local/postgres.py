"""A throw-away PostgreSQL server (Debian's postgresql) on a loopback port, for the store tests
and the submission benchmark (scripts/setup.sh --with-test-tools installs it)."""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


def available() -> bool:
    return _bin("initdb") is not None and shutil.which("runuser") is not None


@contextmanager
def postgres_server(port: int) -> Iterator[str]:
    """Start a private cluster as the postgres user; yields a SQLAlchemy URL."""
    root = tempfile.mkdtemp(prefix="zunray-pg-")
    shutil.chown(root, "postgres", "postgres")
    data = f"{root}/data"
    run = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*run, _bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run,
            _bin("pg_ctl"),
            "-D",
            data,
            "-l",
            f"{root}/log",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*run, _bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "zunray"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/zunray"
    finally:
        subprocess.run(
            [*run, _bin("pg_ctl"), "-D", data, "-m", "immediate", "stop"], capture_output=True
        )
        time.sleep(0.2)
        shutil.rmtree(root, ignore_errors=True)
