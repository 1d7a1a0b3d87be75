"""The firewall of a project network: what its containers may not reach.

Two kinds of traffic leave a project's bridge. To the host itself (INPUT): all of it is
dropped (``INPUT -i <bridge> -j DROP``), since Ray, the gateway and Keystone listen on the
host. Through the host (FORWARD): Docker lets it out, so a tenant could reach the metadata
service, the other hosts of the cluster or any internal service the host can route to.
Each bridge therefore gets a chain of its own, jumped to from Docker's ``DOCKER-USER``
chain (which Docker runs first in FORWARD and never flushes), that drops:

- the link-local range (169.254.0.0/16: cloud metadata), always;
- the addresses of this host and of the cluster's hosts;
- the operator's infrastructure ranges (``Settings.blocked_egress_cidrs``);

and lets through replies of connections made to the container, traffic that stays on the
project's own bridge, and DNS (port 53) to the host's resolvers, which Docker's embedded
DNS server queries from inside the container's namespace.

Chains are named ``ZR-<instance hash>-<bridge hash>``: the node finds its instance's chains
again after a restart and never touches a chain it did not create. A chain is rewritten
whole in one ``iptables-restore --noflush`` transaction, so it is never half-filled.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from runner.errors import Unavailable

LINK_LOCAL = "169.254.0.0/16"
HOOK = "DOCKER-USER"  # Docker jumps here first from FORWARD and keeps what others put in it
LOCK_WAIT_S = "10"  # iptables waits this long for the xtables lock another process holds


def chain_prefix(instance: str) -> str:
    return "ZR-" + hashlib.sha256(instance.encode()).hexdigest()[:8] + "-"


def chain_name(instance: str, bridge: str) -> str:
    """At most 28 characters (iptables' limit): bridges are ``zr`` + 12 hex digits."""
    return chain_prefix(instance) + bridge.removeprefix("zr")


def bridge_of(chain: str) -> str:
    return "zr" + chain.rsplit("-", 1)[1]


def ipv4_hosts(addresses: Iterable[str]) -> list[str]:
    """The routable IPv4 addresses among ``addresses`` (a container's loopback is its own)."""
    found = []
    for addr in addresses:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            continue
        if ip.version == 4 and not ip.is_loopback and not ip.is_unspecified:
            found.append(str(ip))
    return sorted(set(found))


def host_resolvers(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[str]:
    """The DNS servers the host's containers are given (Docker copies resolv.conf)."""
    try:
        text = resolv_conf.read_text()
    except OSError:
        return []
    return ipv4_hosts(re.findall(r"^\s*nameserver\s+(\S+)", text, flags=re.MULTILINE))


def chain_rules(
    chain: str,
    bridge: str,
    *,
    blocked: Iterable[str],
    hosts: Iterable[str],
    resolvers: Iterable[str],
) -> list[str]:
    """The chain's rules, in order; the first match decides (RETURN: Docker's rules go on)."""
    rules = [
        "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",  # replies (a published port's clients)
        f"-o {bridge} -j RETURN",  # the project's own subnet: its other containers
        "-m addrtype --dst-type LOCAL -j DROP",  # this host, whichever interface holds the address
        *(f"-d {h}/32 -j DROP" for h in hosts),
        f"-d {LINK_LOCAL} -j DROP",
        *(
            f"-d {r}/32 -p {proto} --dport 53 -j RETURN"
            for r in resolvers
            for proto in ("udp", "tcp")
        ),
        *(f"-d {cidr} -j DROP" for cidr in blocked if cidr != LINK_LOCAL),
    ]
    return [f"-A {chain} {rule}" for rule in rules]


class Firewall:
    """The iptables rules of one instance's project networks on this host."""

    def __init__(
        self, instance: str, *, blocked: Iterable[str], resolvers: Iterable[str] = ()
    ) -> None:
        self.instance = instance
        self.blocked = tuple(blocked)
        self.resolvers = tuple(resolvers)

    def fence(self, bridge: str, hosts: Iterable[str] = ()) -> None:
        """Install (or rewrite) the bridge's rules; idempotent."""
        if not self._run("-S", HOOK):
            raise Unavailable(
                f"iptables has no {HOOK} chain (is Docker's iptables support off?): project networks cannot be fenced"
            )
        chain = chain_name(self.instance, bridge)
        rules = chain_rules(
            chain, bridge, blocked=self.blocked, hosts=ipv4_hosts(hosts), resolvers=self.resolvers
        )
        script = "\n".join(["*filter", f":{chain} - [0:0]", *rules, "COMMIT", ""])
        done = subprocess.run(
            [_tool("iptables-restore"), "-w", LOCK_WAIT_S, "--noflush"],
            input=script,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise Unavailable(f"cannot install the egress rules of {bridge}: {done.stderr.strip()}")
        # the chain is complete before anything jumps to it
        self._ensure(HOOK, "-i", bridge, "-j", chain)
        self._ensure("INPUT", "-i", bridge, "-j", "DROP")

    def unfence(self, bridge: str) -> None:
        """Remove the bridge's rules (after its network is gone)."""
        if shutil.which("iptables") is None:
            return  # then nothing was installed either
        chain = chain_name(self.instance, bridge)
        while self._run("-D", HOOK, "-i", bridge, "-j", chain):
            pass
        while self._run("-D", "INPUT", "-i", bridge, "-j", "DROP"):
            pass
        if self._run("-F", chain):  # only our own chain: its name carries this instance's prefix
            self._run("-X", chain)

    def fenced_bridges(self) -> set[str]:
        """The bridges this instance has chains for on this host."""
        if shutil.which("iptables") is None:
            return set()
        listing = subprocess.run(
            [_tool("iptables"), "-w", LOCK_WAIT_S, "-S"], capture_output=True, text=True
        ).stdout
        prefix = chain_prefix(self.instance)
        return {
            bridge_of(line.split()[1])
            for line in listing.splitlines()
            if line.startswith(f"-N {prefix}")
        }

    def _ensure(self, *rule: str) -> None:
        if not self._run("-C", *rule) and not self._run("-I", *rule):
            raise Unavailable(f"cannot install the firewall rule {' '.join(rule)}")

    def _run(self, *args: str) -> bool:
        return (
            subprocess.run(
                [_tool("iptables"), "-w", LOCK_WAIT_S, *args], capture_output=True
            ).returncode
            == 0
        )


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise Unavailable(f"{name} is missing: project networks cannot be fenced off")
    return path
