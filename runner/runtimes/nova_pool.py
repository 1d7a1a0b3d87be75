"""Nova servers leased to the capsules of one node.

Scope ``capsule``: a server per capsule (job or Zun container), deleted when it
is released. Scope ``project``: a project's capsules on this node share
servers, at most ``per_server`` on each; a server nobody holds stays idle for
``idle_s`` for the project's next capsule (its images already loaded), then
``reap`` (a node timer) deletes it. After a node actor restart ``adopt`` takes
back what this node made: the servers still holding capsules, and the idle
shared ones (their leftover containers removed); the rest are deleted.

A holder is a capsule's id (a job's, a Zun container's uuid): the
``zunray.capsule`` label of its containers on the server's engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from runner.errors import NotFound, ZunrayError
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.nova import NovaServers

log = logging.getLogger(__name__)


@dataclass
class Lease:
    """One server and the capsules on it."""

    server_id: str
    url: str  # its Docker engine
    project: str
    shared: bool  # scope project
    holders: set[str] = field(default_factory=set)
    idle_since: float | None = None  # a shared server nobody holds: since when


class ServerPool:
    """The servers this node leases, by id."""

    def __init__(
        self,
        servers: NovaServers,
        engine: Callable[[str], DockerRuntime],
        *,
        scope: str,
        idle_s: float,
        per_server: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.servers = servers
        self.engine = engine  # a DockerRuntime for a server's engine URL
        self.scope = scope
        self.idle_s = idle_s
        self.per_server = per_server
        self.clock = clock
        self._leases: dict[str, Lease] = {}
        self._engines: dict[str, DockerRuntime] = {}  # by server id: one client per server engine
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = defaultdict(
            threading.Lock
        )  # one server made at a time per project

    def lease(self, *, project: str, holder: str) -> Lease:
        """A server for ``holder``: a new one, or (scope project) one of the project's with room."""
        if self.scope == "capsule":
            return self._new(project, holder, shared=False)
        with self._making[
            project
        ]:  # capsules arriving together share the server the first one makes
            with self._lock:
                for lease in self._leases.values():
                    if (
                        lease.shared
                        and lease.project == project
                        and len(lease.holders) < self.per_server
                    ):
                        lease.holders.add(holder)
                        lease.idle_since = None
                        return lease
            return self._new(project, holder, shared=True)

    def _new(self, project: str, holder: str, *, shared: bool) -> Lease:
        server_id, url = self.servers.create(project=project, capsule_id=None if shared else holder)
        lease = Lease(
            server_id=server_id, url=url, project=project, shared=shared, holders={holder}
        )
        with self._lock:
            self._leases[server_id] = lease
        return lease

    def release(self, server_id: str, holder: str) -> None:
        """``holder`` is done with the server: a per-capsule server is deleted, a shared one idles once nobody holds it."""
        with self._lock:
            lease = self._leases.get(server_id)
            if lease is None:
                return
            lease.holders.discard(holder)
            if lease.holders:
                return
            if lease.shared:
                lease.idle_since = self.clock()
                return
            self._forget(server_id)
        self.servers.delete(server_id)

    def _forget(self, server_id: str) -> None:
        """(under the lock)"""
        del self._leases[server_id]
        self._engines.pop(server_id, None)

    def engine_for(self, server_id: str) -> DockerRuntime:
        """The Docker engine of a server this node leases."""
        with self._lock:
            lease = self._leases.get(server_id)
            if lease is None:
                raise NotFound(f"no Nova server {server_id} leased on this node")
            if server_id not in self._engines:
                self._engines[server_id] = self.engine(lease.url)
            return self._engines[server_id]

    def reap(self) -> list[str]:
        """Delete the shared servers idle for ``idle_s``; their ids."""
        now = self.clock()
        with self._lock:
            idle = [
                sid
                for sid, lease in self._leases.items()
                if lease.shared
                and not lease.holders
                and now - (lease.idle_since or now) >= self.idle_s
            ]
            for sid in idle:
                self._forget(sid)
        for sid in idle:
            log.info("deleting Nova server %s: idle for %.0f s", sid, self.idle_s)
            try:
                self.servers.delete(sid)
            except ZunrayError:
                log.exception("cannot delete idle Nova server %s", sid)
        return idle

    def adopt(self, holders: dict[str, set[str]]) -> None:
        """After a restart: keep the servers still holding capsules (``holders``: server id -> its
        holders) and the shared ones; clean what died with the old actor; delete the rest."""
        now = self.clock()
        for server in self.servers.mine():
            held = holders.get(server.id, set())
            if not held and not server.shared:
                log.info("deleting leftover Nova server %s of %s", server.id, server.capsule_id)
                self.servers.delete(server.id)
                continue
            with self._lock:
                self._leases[server.id] = Lease(
                    server_id=server.id,
                    url=server.url,
                    project=server.project,
                    shared=server.shared,
                    holders=set(held),
                    idle_since=None if held else now,
                )
            if server.shared:
                self._remove_dead_containers(server.url, held)

    def _remove_dead_containers(self, url: str, held: set[str]) -> None:
        """Containers of capsules that died with the old node actor, on a server that stays."""
        try:
            engine = self.engine(url)
            for c in engine.managed():
                if c.labels.get("zunray.capsule") not in held:
                    engine.remove(c.id)
        except ZunrayError:
            log.exception("cannot clean Nova server engine %s", url)
