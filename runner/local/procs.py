"""Starting and stopping Zunray's own processes, tracked by PID files.

``zunray down`` ends exactly the process trees that ``zunray up`` started
(found from the recorded PIDs through /proc), never processes by name.

A PID alone names a process only while it lives: after a crash or a reboot the
number may belong to anyone. So a PID file also records the process's start
time (``/proc/<pid>/stat`` field 22, clock ticks since boot) and the boot id;
a record is believed, and its process signalled, only while both still match.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from runner.private_files import FILE_MODE, private_dir


BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")


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


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, parents first."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, i = [root], 0
    while i < len(tree):
        tree.extend(children.get(tree[i], []))
        i += 1
    return tree


def alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def stop_tree(pid: int, *, grace_s: float = 5.0) -> None:
    """SIGTERM the tree under ``pid``, then SIGKILL what is left after ``grace_s``."""
    # each member with its start time: one that ends during the grace period may hand its PID on
    tree = {p: start_ticks(p) for p in descendants(pid) if alive(p)}
    for p in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)

    def left() -> list[int]:
        return [p for p, ticks in tree.items() if alive(p) and start_ticks(p) == ticks]

    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and left():
        time.sleep(0.1)
    for p in left():
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def spawn(name: str, argv: list[str], *, run_dir: Path, log_dir: Path, env: dict[str, str]) -> int:
    """Start a detached process, record its PID in ``run_dir/<name>.pid``."""
    private_dir(run_dir)
    private_dir(log_dir)
    # owner-only: a log may carry what a process printed about its secrets
    with os.fdopen(os.open(log_dir / f"{name}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE), "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    record = {"pid": proc.pid, "start_ticks": start_ticks(proc.pid), "boot_id": boot_id()}
    (run_dir / f"{name}.pid").write_text(json.dumps(record))
    return proc.pid


def recorded(name: str, run_dir: Path) -> int | None:
    """The PID recorded for ``name`` if that very process still lives.

    None also for a record that cannot be checked (unreadable, or a bare PID as
    written before start times were kept): it is never trusted nor signalled.
    """
    try:
        record = json.loads((run_dir / f"{name}.pid").read_text())
        pid, ticks, boot = int(record["pid"]), record["start_ticks"], record["boot_id"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if boot != boot_id() or ticks is None or start_ticks(pid) != ticks or not alive(pid):
        return None
    return pid


def stop(name: str, run_dir: Path) -> bool:
    pid = recorded(name, run_dir)
    if pid is not None:
        stop_tree(pid)
    (run_dir / f"{name}.pid").unlink(missing_ok=True)
    return pid is not None
