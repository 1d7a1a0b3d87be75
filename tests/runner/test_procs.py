"""PID files name a process only together with its start time and the boot: a stale file
(a crash, a reboot, a reused PID) is neither believed nor acted on. Real processes, no Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from runner.local import procs


@pytest.fixture
def stranger():
    """A live process that is not the one a PID file recorded (as after a reboot reused the number)."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


def _record(run_dir, name, **record) -> None:
    run_dir.mkdir(exist_ok=True)
    (run_dir / f"{name}.pid").write_text(json.dumps({"spawn_id": "0" * 32, **record}))


def test_a_record_with_another_start_time_is_neither_trusted_nor_killed(tmp_path, stranger):
    run = tmp_path / "run"
    _record(
        run,
        "gateway",
        pid=stranger.pid,
        start_ticks=procs.start_ticks(stranger.pid) - 1,
        boot_id=procs.boot_id(),
    )
    assert procs.recorded("gateway", run) is None
    assert procs.stop("gateway", run) is False
    assert stranger.poll() is None, "down killed a process it did not start"
    assert not (run / "gateway.pid").exists()  # the stale record is gone with `down`


def test_a_record_from_another_boot_is_neither_trusted_nor_killed(tmp_path, stranger):
    run = tmp_path / "run"
    _record(
        run,
        "ray",
        pid=stranger.pid,
        start_ticks=procs.start_ticks(stranger.pid),
        boot_id="an-earlier-boot",
    )
    assert procs.recorded("ray", run) is None
    assert procs.stop("ray", run) is False
    assert stranger.poll() is None


def test_a_bare_pid_cannot_be_checked_so_it_is_not_trusted(tmp_path, stranger):
    run = tmp_path / "run"
    run.mkdir()
    (run / "gateway.pid").write_text(
        str(stranger.pid)
    )  # what PID files held before start times were kept
    assert procs.recorded("gateway", run) is None
    assert procs.stop("gateway", run) is False
    assert stranger.poll() is None


def test_a_spawned_process_is_recorded_and_stopped_with_its_children(tmp_path):
    run, logs = tmp_path / "run", tmp_path / "logs"
    pid = procs.spawn(
        "svc",
        [sys.executable, "-c", "import subprocess; subprocess.run(['sleep', '300'])"],
        run_dir=run,
        log_dir=logs,
        env={},
    )
    assert procs.recorded("svc", run) == pid
    record = json.loads((run / "svc.pid").read_text())
    assert record == {
        "pid": pid,
        "start_ticks": procs.start_ticks(pid),
        "boot_id": procs.boot_id(),
        "spawn_id": record["spawn_id"],
    }
    for _ in range(50):  # the child sleep starts a moment later
        if len(tree := procs.descendants(pid)) == 2:
            break
        time.sleep(0.1)
    assert len(tree) == 2, tree
    assert procs.stop("svc", run) is True
    assert not any(procs.alive(p) for p in tree)
    assert procs.recorded("svc", run) is None


def test_a_dead_process_is_not_recorded(tmp_path):
    run, logs = tmp_path / "run", tmp_path / "logs"
    procs.spawn("quick", ["true"], run_dir=run, log_dir=logs, env={})
    for _ in range(50):
        if procs.recorded("quick", run) is None:
            break
        time.sleep(0.1)
    assert procs.recorded("quick", run) is None


def test_what_a_killed_process_left_running_is_stopped_before_a_new_one_starts(tmp_path, stranger):
    run, logs = tmp_path / "run", tmp_path / "logs"
    parent = "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"
    pid = procs.spawn("head", [sys.executable, "-c", parent], run_dir=run, log_dir=logs, env={})
    for _ in range(50):
        if len(tree := procs.descendants(pid)) == 2:
            break
        time.sleep(0.1)
    (child,) = tree[1:]
    os.kill(pid, signal.SIGKILL)  # alone: its child lives on, reparented
    for _ in range(50):
        if not procs.alive(pid):
            break
        time.sleep(0.1)
    assert procs.recorded("head", run) is None and procs.alive(child)
    again = procs.spawn("head", ["sleep", "300"], run_dir=run, log_dir=logs, env={})
    try:
        assert not procs.alive(child), "the dead head's child outlived it"
        assert stranger.poll() is None
    finally:
        assert procs.stop("head", run) is True
    assert not procs.alive(again)
