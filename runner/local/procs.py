"""Starting and stopping Zunray's own processes, tracked by PID files.

``zunray down`` ends exactly the process trees that ``zunray up`` started
(found from the recorded PIDs through /proc), never processes by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from runner.private_files import FILE_MODE, private_dir


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
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop_tree(pid: int, *, grace_s: float = 5.0) -> None:
    """SIGTERM the tree under ``pid``, then SIGKILL what is left after ``grace_s``."""
    tree = [p for p in descendants(pid) if alive(p)]
    for p in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p) for p in tree):
        time.sleep(0.1)
    for p in tree:
        if alive(p):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)


def spawn(name: str, argv: list[str], *, run_dir: Path, log_dir: Path, env: dict[str, str]) -> int:
    """Start a detached process, record its PID in ``run_dir/<name>.pid``."""
    private_dir(run_dir)
    private_dir(log_dir)
    # owner-only: a log may carry what a process printed about its secrets
    with os.fdopen(os.open(log_dir / f"{name}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE), "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    (run_dir / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def recorded(name: str, run_dir: Path) -> int | None:
    """The PID recorded for ``name`` if that process still lives."""
    try:
        pid = int((run_dir / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def stop(name: str, run_dir: Path) -> bool:
    pid = recorded(name, run_dir)
    if pid is not None:
        stop_tree(pid)
    (run_dir / f"{name}.pid").unlink(missing_ok=True)
    return pid is not None
