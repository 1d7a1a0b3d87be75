"""Starting and stopping Zunray's own processes, tracked by PID files.

``zunray down`` ends exactly the process trees that ``zunray up`` started
(found from the recorded PIDs through /proc), never processes by name.

A PID alone names a process only while it lives: after a crash or a reboot the
number may belong to anyone. So a PID file also records the process's start
time (``/proc/<pid>/stat`` field 22, clock ticks since boot) and the boot id;
a record is believed, and its process signalled, only while both still match.
Each spawn also gets a random token in its environment (``ZUNRAY_SPAWN_ID``),
which its children inherit: when the recorded process died alone (SIGKILL),
what it left running is found by that token and stopped before a new one starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

from runner.private_files import FILE_MODE, private_dir

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
SPAWN_ID_VAR = "ZUNRAY_SPAWN_ID"


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` from field 3 (state) on: the name in field 2 may hold spaces and parentheses."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (None: no such process)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def boot_id() -> str:
    return BOOT_ID_PATH.read_text().strip()


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, parents first."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        if fields := _stat_fields(pid):
            children.setdefault(int(fields[1]), []).append(pid)
    tree, i = [root], 0
    while i < len(tree):
        tree.extend(children.get(tree[i], []))
        i += 1
    return tree


def _spawned_by(spawn_id: str) -> list[int]:
    """Live processes whose environment carries ``spawn_id`` (only our own user's environments are readable)."""
    marker = f"{SPAWN_ID_VAR}={spawn_id}".encode()
    found = []
    for pid in _pids():
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker in env.split(b"\0") and alive(pid):
            found.append(pid)
    return found


def alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def stop_pids(pids: list[int], *, grace_s: float = 5.0) -> None:
    """SIGTERM ``pids``, then SIGKILL those left after ``grace_s``."""
    # each with its start time: one that ends during the grace period may hand its PID on
    members = {p: start_ticks(p) for p in pids if alive(p)}
    for p in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)

    def left() -> list[int]:
        return [p for p, ticks in members.items() if alive(p) and start_ticks(p) == ticks]

    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and left():
        time.sleep(0.1)
    for p in left():
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def spawn(name: str, argv: list[str], *, run_dir: Path, log_dir: Path, env: dict[str, str]) -> int:
    """Start a detached process, record its PID in ``run_dir/<name>.pid``.

    An earlier process of that name, or what it left running when it died alone, is
    stopped first.
    """
    stop(name, run_dir)
    private_dir(run_dir)
    private_dir(log_dir)
    spawn_id = secrets.token_hex(16)
    # owner-only: a log may carry what a process printed about its secrets
    with os.fdopen(
        os.open(log_dir / f"{name}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE), "ab"
    ) as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**env, SPAWN_ID_VAR: spawn_id},
            start_new_session=True,
        )
    record = {
        "pid": proc.pid,
        "start_ticks": start_ticks(proc.pid),
        "boot_id": boot_id(),
        "spawn_id": spawn_id,
    }
    (run_dir / f"{name}.pid").write_text(json.dumps(record))
    return proc.pid


def _record(name: str, run_dir: Path) -> dict | None:
    """The record of ``name`` if it is of this boot and complete; a bare PID (as written before
    start times were kept) or another boot's record cannot be checked, so it counts as none."""
    try:
        record = json.loads((run_dir / f"{name}.pid").read_text())
        valid = (
            isinstance(record["pid"], int)
            and isinstance(record["start_ticks"], int)
            and isinstance(record["spawn_id"], str)
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return record if valid and record.get("boot_id") == boot_id() else None


def recorded(name: str, run_dir: Path) -> int | None:
    """The PID recorded for ``name`` if that very process still lives."""
    record = _record(name, run_dir)
    if (
        record is None
        or not alive(record["pid"])
        or start_ticks(record["pid"]) != record["start_ticks"]
    ):
        return None
    return record["pid"]


def stop(name: str, run_dir: Path) -> bool:
    """Stop the recorded process's tree and whatever else it spawned; True if the recorded one ran."""
    record = _record(name, run_dir)
    pid = recorded(name, run_dir)
    if record is not None:
        tree = descendants(pid) if pid is not None else []
        stop_pids(list(dict.fromkeys(tree + _spawned_by(record["spawn_id"]))))
    (run_dir / f"{name}.pid").unlink(missing_ok=True)
    return pid is not None
