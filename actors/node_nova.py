"""The Nova half of a NodeActor: its pool of servers (see ``runner/runtimes/nova_pool.py``),
taken back after a restart and reaped of idle shared servers.

A mixin of ``NodeActor``; jobs (``NovaRun``), Zun containers (``NovaOps``) and Zun
capsules on Nova lease their servers from ``self.nova_pool``.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from docker.tls import TLSConfig

from runner.errors import Unavailable, ZunrayError
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.nova import NovaServers
from runner.runtimes.nova_containers import PREFIX as NOVA_PREFIX
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
        log.warning("Nova servers' Docker engines are reached over plain TCP (nova_insecure_engines): keep them on a network only this node reaches")
    tls = TLSConfig(client_cert=(str(certs / "cert.pem"), str(certs / "key.pem")), ca_cert=str(certs / "ca.pem"), verify=True) if certs else None
    return ServerPool(
        NovaServers(settings, node=name),
        lambda url: DockerRuntime(url=url, instance=runtime.instance, node=name, log_max_bytes=runtime.log_max_bytes, tls=tls),
        scope=settings.nova_server_scope, idle_s=settings.nova_idle_s, per_server=settings.nova_capsules_per_server,
    )


class NovaHost:
    """Mixin: the Nova servers of this node."""

    def _nova_pool(self) -> ServerPool:
        if self.nova_pool is None:
            raise Unavailable(f"host {self.name} has no Nova endpoint configured (nova_url)")
        return self.nova_pool

    def _adopt_nova_servers(self) -> None:
        """The Nova servers this node made: those its Zun containers are on, and the idle shared ones, come
        back into its pool; the rest (their jobs ended with the previous actor) are deleted."""
        if self.nova_pool is None:
            return
        holders: dict[str, set[str]] = defaultdict(set)
        for ctr in self.store.containers.list_containers(project_id=None, host=self.name):
            if ctr.container_id and ctr.container_id.startswith(NOVA_PREFIX):
                holders[split_nova_id(ctr.container_id)[0]].add(ctr.uuid)
        for cap in self.store.capsules.list_capsules(project_id=None, host=self.name):
            if cap.capsule.runtime == "nova" and (server_id := self._nova_server_of(cap)):
                holders[server_id].add(cap.uuid)
        try:
            self.nova_pool.adopt(holders)
        except ZunrayError:
            log.exception("cannot take back this node's Nova servers")

    def reap_nova_servers(self) -> None:
        """Timer: shared Nova servers idle for nova_idle_s are deleted."""
        if self.nova_pool is not None:
            self.nova_pool.reap()
