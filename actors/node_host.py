"""What every service of a NodeActor shares: who this host is, its store, its Docker
runtime, its settings, how it tells placement a capsule let go of the host, and the
bounds on concurrent operations.

One plain object with declared fields, built by ``NodeActor`` and handed to each
service's constructor. Building it does no I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from actors.guards import ObjectLocks, ProjectShares
from runner.runtimes.docker import DockerRuntime
from runner.settings import Settings
from runner.store import Store


@dataclass
class HostContext:
    """This node as its services see it."""

    name: str  # the host's name (node actor ``node:<name>``); the ``host`` of what runs here
    store: Store
    runtime: DockerRuntime  # this host's Docker engine
    settings: Settings
    finished: Callable[..., None]  # (id, kind="job"): tells placement a capsule released its host
    locks: ObjectLocks = field(init=False)  # one operation at a time per object, bounded waits
    shares: ProjectShares = field(init=False)  # per project: its share of this actor's threads

    def __post_init__(self) -> None:
        self.locks = ObjectLocks(wait_s=self.settings.node_busy_wait_s)
        self.shares = ProjectShares(
            limit=self.settings.node_project_ops_max, wait_s=self.settings.node_busy_wait_s
        )

    def object_lock(self, uuid: str) -> threading.Lock:
        """Serialises create/act/delete on one Zun container or capsule (creation threads wait as long as it takes)."""
        return self.locks.lock(uuid)

    @contextmanager
    def operation(self, project: str, uuid: str, *, wait_s: float | None = None) -> Iterator[None]:
        """An operation asked of this node on one object: within its project's share of the
        actor's threads (429 past it) and alone on the object (409 busy after the wait)."""
        with self.shares.share(project), self.locks.hold(uuid, wait_s=wait_s):
            yield

    def remove_stale_copies(self, capsule_id: str) -> None:
        """Remove what another node left of a capsule on this engine (its host was lost and
        the capsule moved here): possible only where several nodes share one Docker engine."""
        for stale in self.runtime.managed(capsule=capsule_id):
            if stale.labels.get("zunray.node") != self.name:
                self.runtime.remove(stale.id)
