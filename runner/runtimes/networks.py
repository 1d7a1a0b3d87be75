"""Per-project Docker networks that cannot reach the host's control plane or the infrastructure.

Each project gets one bridge network (``<instance>-<project>``) with a known
Linux bridge name. A container on any bridge can reach every service the host
listens on through the bridge's gateway address (Ray's ports, the gateway,
Keystone), and through the host whatever the host can route to (the metadata
service, the other hosts, internal networks). The node fences each bridge
(``runner/runtimes/egress.py``): nothing from it reaches the host, and forwarded
traffic to link-local, the hosts' addresses and the operator's blocked ranges is
dropped; traffic to other containers of the project is unaffected, and Docker
keeps different projects' bridges apart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable

from docker import errors as derr

from runner.errors import RuntimeFailure
from runner.runtimes.docker import LABEL, DockerRuntime
from runner.runtimes.egress import Firewall

log = logging.getLogger(__name__)

PROJECT_NETWORK = "project"  # CapsuleSpec.network value: the project's own network
BRIDGE_OPTION = "com.docker.network.bridge.name"


def bridge_name(instance: str, project: str) -> str:
    """Linux interface names are at most 15 characters."""
    return "zr" + hashlib.sha256(f"{instance}/{project}".encode()).hexdigest()[:12]


class ProjectNetworks:
    def __init__(
        self, runtime: DockerRuntime, firewall: Firewall, hosts: Callable[[], Iterable[str]] = tuple
    ) -> None:
        self.runtime = runtime
        self.firewall = firewall
        self.hosts = (
            hosts  # the cluster's host addresses, asked each time rules are written (hosts join)
        )
        self._lock = threading.Lock()
        self._ready: set[str] = set()

    def resolve(self, network: str | None, project: str) -> str:
        """A capsule's network setting as a Docker network mode."""
        if network == PROJECT_NETWORK:
            return self.ensure(project)
        return network or "none"

    def ensure(self, project: str) -> str:
        """The project's network name, created and fenced off."""
        name = f"{self.runtime.instance}-{project}"[:120]
        with self._lock:
            if name in self._ready:
                return name
            bridge = bridge_name(self.runtime.instance, project)
            api = self.runtime._api  # noqa: SLF001 - the same driver
            try:
                if not api.networks(names=[name]):
                    api.create_network(
                        name,
                        driver="bridge",
                        options={BRIDGE_OPTION: bridge},
                        labels={
                            f"{LABEL}.instance": self.runtime.instance,
                            f"{LABEL}.project": project,
                        },
                        check_duplicate=True,
                    )
            except derr.APIError as exc:
                if exc.status_code != 409:
                    raise RuntimeFailure(
                        f"cannot create the network of project {project}: {exc.explanation}"
                    ) from exc
            self.firewall.fence(bridge, self.hosts())
            self._ready.add(name)
            return name

    def recheck(self) -> None:
        """Rewrite the rules of this instance's networks on this host and drop those of networks that are gone.

        After a reboot or a firewall reload the rules may be missing; after a network was removed
        while no node actor ran, stale. Chains are listed before networks: a chain whose network
        another node actor creates meanwhile is not taken for stale.
        """
        with self._lock:
            fenced = self.firewall.fenced_bridges()
            bridges = {bridge for _, bridge in _instance_networks(self.runtime)}
            hosts = list(self.hosts())
            for bridge in sorted(bridges):
                self.firewall.fence(bridge, hosts)
            for bridge in sorted(fenced - bridges):
                log.info("removing the egress rules of %s: its network is gone", bridge)
                self.firewall.unfence(bridge)


def _instance_networks(runtime: DockerRuntime) -> list[tuple[str, str]]:
    """(network id, bridge name) of this instance's project networks."""
    api = runtime._api  # noqa: SLF001
    found = []
    for net in api.networks(filters={"label": f"{LABEL}.instance={runtime.instance}"}):
        if bridge := (net.get("Options") or {}).get(BRIDGE_OPTION):
            found.append((net["Id"], bridge))
    return found


def remove_project_networks(runtime: DockerRuntime) -> int:
    """Remove this instance's project networks and their firewall rules; returns how many."""
    firewall = Firewall(runtime.instance, blocked=())
    removed = 0
    for net_id, bridge in _instance_networks(runtime):
        try:
            runtime._api.remove_network(net_id)  # noqa: SLF001
            removed += 1
        except derr.APIError:
            continue  # still in use
        firewall.unfence(bridge)
    return removed
