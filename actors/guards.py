"""Guards that keep one tenant's stuck operation from holding up the others on a host.

The node actor runs its calls on a fixed pool of threads (``max_concurrency``).
A container operation can take long (a ``docker stop`` of a process that ignores
SIGTERM, an engine that hangs), and a call that waits forever for it holds a
thread forever. Two guards bound that:

- ``ObjectLocks``: one operation at a time per object (a Zun container or
  capsule); a second one waits at most ``wait_s`` and is then refused as busy
  (``Conflict``, 409).
- ``ProjectShares``: at most ``limit`` operations of one project run at once
  on the node, at most ``limit`` more wait (each at most ``wait_s``); past
  that the call is refused at once (``Throttled``, 429). So one project holds
  at most ``2 * limit`` of the node actor's threads, and the others keep theirs.

Pure: threads and time only, no Ray or Docker.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from runner.errors import Conflict, Throttled


class Busy(Conflict):
    """The object is in the middle of another operation."""


class ObjectLocks:
    """One operation at a time per object id, waiting a bounded time for the current one."""

    def __init__(self, *, wait_s: float) -> None:
        self.wait_s = wait_s
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    def lock(self, obj_id: str) -> threading.Lock:
        """The object's lock itself, for work that may wait as long as it takes (creation threads)."""
        with self._guard:
            return self._locks[obj_id]

    @contextmanager
    def hold(self, obj_id: str, *, wait_s: float | None = None) -> Iterator[None]:
        """Hold the object's lock; ``Busy`` when another operation keeps it past the wait."""
        wait = self.wait_s if wait_s is None else wait_s
        lock = self.lock(obj_id)
        if not lock.acquire(timeout=wait):
            raise Busy(
                f"{obj_id} is busy with another operation; try again later (waited {wait:g} s)"
            )
        try:
            yield
        finally:
            lock.release()


class ProjectShares:
    """At most ``limit`` running and ``limit`` waiting operations per project."""

    def __init__(self, *, limit: int, wait_s: float) -> None:
        self.limit = limit
        self.wait_s = wait_s
        self._cond = threading.Condition()
        self._running: dict[str, int] = defaultdict(int)
        self._waiting: dict[str, int] = defaultdict(int)

    @contextmanager
    def share(self, project: str) -> Iterator[None]:
        """Run inside the project's share; ``Throttled`` when it is used up past the wait."""
        self._enter(project)
        try:
            yield
        finally:
            with self._cond:
                self._running[project] -= 1
                self._cond.notify_all()

    def _enter(self, project: str) -> None:
        with self._cond:
            if self._running[project] < self.limit:
                self._running[project] += 1
                return
            if self._waiting[project] >= self.limit:
                raise self._refusal(project)
            self._waiting[project] += 1
            try:
                if not self._cond.wait_for(
                    lambda: self._running[project] < self.limit, timeout=self.wait_s
                ):
                    raise self._refusal(project)
                self._running[project] += 1
            finally:
                self._waiting[project] -= 1

    def _refusal(self, project: str) -> Throttled:
        return Throttled(
            f"project {project} has {self.limit} operations running on this host, its share (node_project_ops_max); try again later"
        )

    def running(self, project: str) -> int:
        with self._cond:
            return self._running[project]
