"""Dedicated (pinned) cpus on one host, NUMA-aware.

A dedicated capsule gets whole cpus from a single NUMA node (``cpuset_cpus``
and ``cpuset_mems``); shared containers are created on the cpus nobody has
pinned. ``reserved_shared`` cpus always stay unpinned so shared work can run.
Shared containers created before a pin are moved off the pinned cpus, and
spread back when the pin ends (``shared_moves``: which containers, where to).
"""

from __future__ import annotations

import glob
import os
import re
import threading
from pathlib import Path

from runner.errors import RuntimeFailure


def parse_cpulist(text: str) -> list[int]:
    """``0-3,8,10-11`` -> [0, 1, 2, 3, 8, 10, 11]"""
    cpus: list[int] = []
    for part in filter(None, text.strip().split(",")):
        if "-" in part:
            a, b = part.split("-")
            cpus.extend(range(int(a), int(b) + 1))
        else:
            cpus.append(int(part))
    return cpus


def numa_nodes() -> dict[int, list[int]]:
    """NUMA node -> its cpus, from sysfs (one node with every cpu when sysfs has none)."""
    nodes = {}
    for path in glob.glob("/sys/devices/system/node/node[0-9]*/cpulist"):
        node = int(re.search(r"node(\d+)", path).group(1))
        cpus = parse_cpulist(Path(path).read_text())
        if cpus:
            nodes[node] = cpus
    return nodes or {0: list(range(os.cpu_count() or 1))}


class CpuPinning:
    def __init__(self, nodes: dict[int, list[int]], *, reserved_shared: int = 1) -> None:
        self.nodes = {n: sorted(c) for n, c in nodes.items()}
        self.total = sum(len(c) for c in self.nodes.values())
        self.reserved_shared = reserved_shared
        self.pinned: dict[str, tuple[list[int], int]] = {}  # capsule -> (cpus, NUMA node)
        self._lock = threading.Lock()

    def _taken(self) -> set[int]:
        return {c for cpus, _ in self.pinned.values() for c in cpus}

    def dedicated_free(self) -> int:
        """Most cpus one capsule could pin now (one NUMA node, keeping the shared reserve)."""
        with self._lock:
            taken = self._taken()
            per_node = max(
                (len([c for c in cpus if c not in taken]) for cpus in self.nodes.values()),
                default=0,
            )
            return max(0, min(per_node, self.total - self.reserved_shared - len(taken)))

    def pin(self, capsule: str, count: int) -> tuple[str, str]:
        """Pin ``count`` cpus on the NUMA node with the most free; (cpuset_cpus, cpuset_mems).

        A capsule pinned already keeps its cpus (a rebuilt container, a retry).
        """
        with self._lock:
            if capsule in self.pinned:
                cpus, node = self.pinned[capsule]
                return ",".join(map(str, cpus)), str(node)
            taken = self._taken()
            if len(taken) + count > self.total - self.reserved_shared:
                raise RuntimeFailure(
                    f"no {count} cpus left to pin: {len(taken)} of {self.total} pinned, {self.reserved_shared} kept for shared work"
                )
            node, free = max(
                ((n, [c for c in cpus if c not in taken]) for n, cpus in self.nodes.items()),
                key=lambda item: len(item[1]),
            )
            if len(free) < count:
                raise RuntimeFailure(
                    f"no NUMA node has {count} unpinned cpus (the most free: {len(free)} on node {node})"
                )
            chosen = free[:count]
            self.pinned[capsule] = (chosen, node)
            return ",".join(map(str, chosen)), str(node)

    def adopt(self, capsule: str, cpuset: str) -> None:
        """Take back the cpus a container was pinned to (after a node actor restart)."""
        cpus = parse_cpulist(cpuset)
        if not cpus:
            return
        node = next((n for n, node_cpus in self.nodes.items() if cpus[0] in node_cpus), 0)
        with self._lock:
            self.pinned[capsule] = (cpus, node)

    def release(self, capsule: str) -> bool:
        """Give a capsule's cpus back; True if it had any."""
        with self._lock:
            return self.pinned.pop(capsule, None) is not None

    def shared_cpuset(self) -> str:
        """The cpus shared containers may use: every cpu nobody pinned."""
        with self._lock:
            taken = self._taken()
        return ",".join(str(c) for cpus in self.nodes.values() for c in cpus if c not in taken)

    def pinned_cpus(self) -> list[int]:
        with self._lock:
            return sorted(self._taken())

    def shared_moves(self, cpusets: dict[str, tuple[str, str]]) -> dict[str, str]:
        """Containers to move, and the cpuset each gets: ``cpusets`` maps a container id to
        (its capsule, its CpusetCpus now). Every container whose capsule pinned nothing and
        whose cpus differ from the unpinned ones moves to them ("" in Docker: every cpu)."""
        with self._lock:
            pinned = set(self.pinned)
        shared = self.shared_cpuset()
        wanted = set(parse_cpulist(shared))
        every = {c for cpus in self.nodes.values() for c in cpus}
        return {
            cid: shared
            for cid, (capsule, cpuset) in cpusets.items()
            if capsule not in pinned and (set(parse_cpulist(cpuset)) or every) != wanted
        }
