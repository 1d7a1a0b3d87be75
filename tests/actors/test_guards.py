"""The node actor's guards, without Ray: bounded waits for a busy object and a project's share."""

from __future__ import annotations

import threading
import time

import pytest

from actors.guards import Busy, ObjectLocks, ProjectShares
from runner.errors import Throttled


def hold_in_thread(cm_factory, release: threading.Event) -> threading.Thread:  # noqa: ANN001
    """Enter the context in a thread and stay until ``release`` is set."""
    entered = threading.Event()

    def run() -> None:
        with cm_factory():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert entered.wait(5)
    return t


def test_second_operation_on_a_busy_object_is_refused_after_the_wait() -> None:
    locks = ObjectLocks(wait_s=0.2)
    release = threading.Event()
    t = hold_in_thread(lambda: locks.hold("c1"), release)
    began = time.monotonic()
    with pytest.raises(Busy, match="c1 is busy"):
        with locks.hold("c1"):
            pass
    assert 0.15 < time.monotonic() - began < 2
    with locks.hold("c2"):  # another object is not held up
        pass
    release.set()
    t.join()
    with locks.hold("c1"):  # free again
        pass


def test_a_waiting_operation_runs_once_the_object_is_free() -> None:
    locks = ObjectLocks(wait_s=5)
    release = threading.Event()
    t = hold_in_thread(lambda: locks.hold("c1"), release)
    threading.Timer(0.1, release.set).start()
    with locks.hold("c1"):
        pass
    t.join()


def test_a_project_over_its_share_waits_then_is_throttled_while_others_run() -> None:
    shares = ProjectShares(limit=2, wait_s=0.2)
    release = threading.Event()
    held = [hold_in_thread(lambda: shares.share("a"), release) for _ in range(2)]
    assert shares.running("a") == 2
    began = time.monotonic()
    with pytest.raises(Throttled, match="project a has 2 operations running"):
        with shares.share("a"):
            pass
    assert 0.15 < time.monotonic() - began < 2
    began = time.monotonic()
    with shares.share("b"):  # another project has its own share, at once
        assert time.monotonic() - began < 0.1
    release.set()
    for t in held:
        t.join()
    assert shares.running("a") == 0


def test_waiters_past_the_share_are_refused_at_once() -> None:
    """A project holds at most twice its share of threads: running plus waiting."""
    shares = ProjectShares(limit=1, wait_s=5)
    release = threading.Event()
    running = hold_in_thread(lambda: shares.share("a"), release)
    waiting = threading.Thread(target=lambda: shares.share("a").__enter__(), daemon=True)
    waiting.start()
    time.sleep(0.1)  # the waiter is queued
    began = time.monotonic()
    with pytest.raises(Throttled):
        with shares.share("a"):
            pass
    assert time.monotonic() - began < 0.5
    release.set()
    running.join()
    waiting.join(5)
    assert not waiting.is_alive()  # it got the share once the first left


def test_a_failed_operation_gives_its_share_back() -> None:
    shares = ProjectShares(limit=1, wait_s=0.1)
    with pytest.raises(RuntimeError):
        with shares.share("a"):
            raise RuntimeError("boom")
    with shares.share("a"):
        pass
