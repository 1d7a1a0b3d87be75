"""The Nova servers of a NodeActor: its pool of servers (see ``runner/runtimes/nova_pool.py``),
taken back after a restart and reaped of idle shared servers.

Jobs (``NovaRun``), Zun containers (``NovaOps``) and Zun capsules on Nova lease their
servers from ``NovaServersOfNode.pool()``. The pool is built by ``start()`` (its client
reaches the Nova endpoint), not by the constructor.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from docker.tls import TLSConfig

from actors.node_host import HostContext
from runner.containers import Capsule
from runner.errors import Unavailable, ZunrayError
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.nova import NovaServers
from runner.runtimes.nova_containers import PREFIX as NOVA_PREFIX
from runner.runtimes.nova_containers import NovaOps
from runner.runtimes.nova_containers import split as split_nova_id
from runner.runtimes.nova_pool import ServerPool
from runner.settings import Settings

log = logging.getLogger(__name__)


def nova_pool(settings: Settings, name: str, runtime: DockerRuntime) -> ServerPool | None:
    """The node's pool of Nova servers; None without a Nova endpoint."""
    if not settings.nova_url:
        return None
    certs = settings.nova_engine_cert_path
    if certs is None:  # Settings refuse this unless the operator said nova_insecure_engines
        log.warning(
            "Nova servers' Docker engines are reached over plain TCP (nova_insecure_engines): keep them on a network only this node reaches"
        )
    tls = (
        TLSConfig(
            client_cert=(str(certs / "cert.pem"), str(certs / "key.pem")),
            ca_cert=str(certs / "ca.pem"),
            verify=True,
        )
        if certs
        else None
    )
    return ServerPool(
        NovaServers(settings, node=name),
        lambda url: DockerRuntime(
            url=url,
            instance=runtime.instance,
            node=name,
            log_max_bytes=runtime.log_max_bytes,
            tls=tls,
        ),
        scope=settings.nova_server_scope,
        idle_s=settings.nova_idle_s,
        per_server=settings.nova_capsules_per_server,
    )


def nova_server_of(cap: Capsule) -> str | None:
    """The Nova server a capsule's containers are on, from its members' ids; None for this host."""
    ids = (m.get("container_id") or "" for m in cap.members.values())
    return next((split_nova_id(cid)[0] for cid in ids if cid.startswith(NOVA_PREFIX)), None)


class NovaServersOfNode:
    """This node's pool of Nova servers, if it has a Nova endpoint."""

    def __init__(self, host: HostContext) -> None:
        self.host = host
        self._pool: ServerPool | None = (
            None  # built by start() when the settings name a Nova endpoint
        )
        self._ops: NovaOps | None = None  # Zun containers on Nova servers

    @property
    def available(self) -> bool:
        return self._pool is not None

    def start(self) -> None:
        """Build the pool, then take back the servers this node made: those its Zun containers and
        capsules are on, and the idle shared ones; the rest (their jobs ended with the previous
        actor) are deleted."""
        host = self.host
        self._pool = nova_pool(host.settings, host.name, host.runtime)
        if self._pool is None:
            return
        self._ops = NovaOps(self._pool, host.runtime)
        holders: dict[str, set[str]] = defaultdict(set)
        for ctr in host.store.containers.list_containers(project_id=None, host=host.name):
            if ctr.container_id and ctr.container_id.startswith(NOVA_PREFIX):
                holders[split_nova_id(ctr.container_id)[0]].add(ctr.uuid)
        for cap in host.store.capsules.list_capsules(project_id=None, host=host.name):
            if server_id := nova_server_of(cap):
                holders[server_id].add(cap.uuid)
        try:
            self._pool.adopt(holders)
        except ZunrayError:
            log.exception("cannot take back this node's Nova servers")

    def pool(self) -> ServerPool:
        """The pool; Unavailable when this host has no Nova endpoint."""
        if self._pool is None:
            raise Unavailable(f"host {self.host.name} has no Nova endpoint configured (nova_url)")
        return self._pool

    def ops(self) -> NovaOps:
        """Operations on Zun containers on Nova servers; Unavailable as ``pool()``."""
        self.pool()
        return self._ops

    def reap(self) -> None:
        """Timer: shared Nova servers idle for nova_idle_s are deleted."""
        if self._pool is not None:
            self._pool.reap()
