"""Resource-fit filter: host up and enabled, runtime present, cpu, memory and disk free."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from policies.base import Demand, FilterResult, Hosts

Check = tuple[np.ndarray, Callable[[int], str]]  # (failed, per host; the reason for row i)

NAME = "fit"


class FitFilter:
    NAME = NAME

    def filter(self, demand: Demand, hosts: Hosts, *, explain: bool = True) -> FilterResult:
        cpu_free = hosts.cpu_capacity - hosts.cpu_used
        mem_free = hosts.memory_capacity - hosts.memory_used
        disk_free = hosts.disk_capacity - hosts.disk_used
        disabled = np.zeros(len(hosts), dtype=bool)
        disabled[list(hosts.disabled)] = True
        checks = [
            (~hosts.up, lambda i: "host down"),
            (disabled, lambda i: f"host disabled: {hosts.disabled[i] or 'by an operator'}"),
            (
                hosts.cpu_total < demand.cpu,
                lambda i: f"host has {hosts.cpu_total[i]:g} cpus, {demand.cpu:g} asked",
            ),
            (
                cpu_free + 1e-9 < demand.cpu,
                lambda i: f"insufficient cpu: {max(cpu_free[i], 0):g} free, {demand.cpu:g} asked",
            ),
            (
                mem_free < demand.memory_mb,
                lambda i: (
                    f"insufficient memory: {max(mem_free[i], 0):g} MB free, {demand.memory_mb:g} MB asked"
                ),
            ),
            (
                disk_free < demand.disk_gb,
                lambda i: (
                    f"insufficient disk: {max(disk_free[i], 0):g} GB free, {demand.disk_gb:g} GB asked"
                ),
            ),
        ]
        runtime_missing = ~hosts.runtime_mask(demand.runtime)
        checks.insert(1, (runtime_missing, lambda i: f"runtime {demand.runtime} missing"))
        if demand.dedicated:
            pinnable = hosts.dedicated_free
            checks.append(
                (
                    pinnable < demand.cpu,
                    lambda i: (
                        f"{pinnable[i]:g} cpus free to pin on one NUMA node, {demand.cpu:g} asked"
                    ),
                )
            )
        return run_checks(len(hosts), checks, explain=explain)


def run_checks(n: int, checks: list[Check], *, explain: bool) -> FilterResult:
    """Apply (failed-mask, reason-of-row) checks in order; each host keeps its first reason.

    Reasons are only written when ``explain`` (formatting them for thousands
    of rejected hosts would cost more than the decision itself).
    """
    passed = np.ones(n, dtype=bool)
    reasons: dict[int, str] = {}
    for failed, why in checks:
        if explain:
            for i in np.flatnonzero(failed & passed):
                reasons[int(i)] = why(int(i))
        passed &= ~failed
    return FilterResult(passed=passed, reasons=reasons)


def never_fits(demand: Demand, hosts: Hosts) -> str | None:
    """A sentence when no host could ever take ``demand``, even empty."""
    if len(hosts) == 0:
        return "no hosts registered"
    largest_cpu = float(hosts.cpu_total.max())
    if demand.cpu > largest_cpu:
        return f"needs {demand.cpu:g} cpus; largest host has {largest_cpu:g}"
    largest_mem = float(hosts.memory_capacity.max())
    if demand.memory_mb > largest_mem:
        return f"needs {demand.memory_mb:g} MB of memory; largest host has {largest_mem:g} MB"
    if not any(demand.runtime in r for r in hosts.runtimes):
        return f"needs runtime {demand.runtime}; no host offers it"
    return None
