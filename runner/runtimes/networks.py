"""Per-project Docker networks that cannot reach the host's control plane.

Each project gets one bridge network (``<instance>-<project>``) with a known
Linux bridge name. A container on any bridge can reach every service the host
listens on through the bridge's gateway address (Ray's ports, the gateway,
Keystone), so the node also installs ``iptables -I INPUT -i <bridge> -j DROP``:
nothing from a tenant bridge reaches the host itself; traffic to other
containers of the project and out through the host (FORWARD) is unaffected,
and Docker keeps different projects' bridges apart.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading

from docker import errors as derr

from runner.errors import RuntimeFailure, Unavailable
from runner.runtimes.docker import LABEL, DockerRuntime


PROJECT_NETWORK = "project"  # CapsuleSpec.network value: the project's own network


def bridge_name(instance: str, project: str) -> str:
    """Linux interface names are at most 15 characters."""
    return "zr" + hashlib.sha256(f"{instance}/{project}".encode()).hexdigest()[:12]


class ProjectNetworks:
    def __init__(self, runtime: DockerRuntime) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()
        self._ready: set[str] = set()

    def resolve(self, network: str | None, project: str) -> str:
        """A capsule's network setting as a Docker network mode."""
        if network == PROJECT_NETWORK:
            return self.ensure(project)
        return network or "none"

    def ensure(self, project: str) -> str:
        """The project's network name, created and fenced off from the host."""
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
                        options={"com.docker.network.bridge.name": bridge},
                        labels={f"{LABEL}.instance": self.runtime.instance, f"{LABEL}.project": project},
                        check_duplicate=True,
                    )
            except derr.APIError as exc:
                if exc.status_code != 409:
                    raise RuntimeFailure(f"cannot create the network of project {project}: {exc.explanation}") from exc
            _fence(bridge)
            self._ready.add(name)
            return name


def _fence(bridge: str) -> None:
    iptables = shutil.which("iptables")
    if iptables is None:
        raise Unavailable("iptables is missing: project networks cannot be fenced off from the host")
    rule = ["INPUT", "-i", bridge, "-j", "DROP"]
    if subprocess.run([iptables, "-C", *rule], capture_output=True).returncode != 0:
        done = subprocess.run([iptables, "-I", *rule], capture_output=True, text=True)
        if done.returncode != 0:
            raise Unavailable(f"cannot install the firewall rule for {bridge}: {done.stderr.strip()}")


def remove_project_networks(runtime: DockerRuntime) -> int:
    """Remove this instance's project networks and their firewall rules; returns how many."""
    api = runtime._api  # noqa: SLF001
    iptables = shutil.which("iptables")
    removed = 0
    for net in api.networks(filters={"label": f"{LABEL}.instance={runtime.instance}"}):
        bridge = (net.get("Options") or {}).get("com.docker.network.bridge.name")
        try:
            api.remove_network(net["Id"])
            removed += 1
        except derr.APIError:
            continue  # still in use
        if bridge and iptables:
            while subprocess.run([iptables, "-D", "INPUT", "-i", bridge, "-j", "DROP"], capture_output=True).returncode == 0:
                pass
    return removed
