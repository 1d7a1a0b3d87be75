"""Placement speed and packing quality, all in one run.

    .venv/bin/python benchmarks/placement.py

1. Decisions per second at 1,000 and 10,000 hosts: ``policies.decide`` over the
   host arrays, claiming each choice in place (what the placement actor does),
   against a plain per-host Python loop doing the same filter and bin-pack
   score, measured on the same demands in the same run.
2. Packing quality on a mixed trace (cpu-heavy, memory-heavy, small and
   dedicated-cpu capsules) on identical hosts: hosts used / the lower bound
   ceil(max(sum cpu / host cpu, sum memory / host memory)), for bin-pack,
   spread and an offline first-fit-decreasing.
"""

from __future__ import annotations

import gc
import math
import random
import time

from policies import Demand, decide, make_filters, make_scores
from policies.table import HostTable

FILTERS = make_filters(["fit", "host", "labels"])


def build_table(
    n: int, *, cpu: float = 64, memory: float = 262144, mixed: bool = True
) -> HostTable:
    table = HostTable()
    for i in range(n):
        big = mixed and i % 2 == 0
        runtimes = frozenset({"runc", "runsc"}) if (not mixed or i % 3) else frozenset({"runc"})
        table.upsert(
            f"h{i}",
            cpu_total=cpu * (2 if big else 1),
            cpu_capacity=cpu * (2 if big else 1),
            memory_capacity=memory * (2 if big else 1),
            runtimes=runtimes,
        )
    return table


def mixed_trace(count: int, seed: int = 7) -> list[Demand]:
    rng = random.Random(seed)
    kinds = [
        lambda: Demand(cpu=rng.choice([4, 8, 16]), memory_mb=rng.choice([2048, 4096])),  # cpu-heavy
        lambda: Demand(
            cpu=rng.choice([0.5, 1]), memory_mb=rng.choice([16384, 32768])
        ),  # memory-heavy
        lambda: Demand(
            cpu=rng.choice([0.25, 0.5]), memory_mb=rng.choice([256, 512, 1024])
        ),  # small
        lambda: Demand(
            cpu=float(rng.choice([2, 4, 8])), memory_mb=8192
        ),  # dedicated (integer cpus)
    ]
    return [rng.choice(kinds)() for _ in range(count)]


def python_loop_decide(d: Demand, table: HostTable) -> str | None:
    """The baseline: one Python iteration per host."""
    h = table.hosts
    best, best_score = None, -1.0
    for i, name in enumerate(h.names):
        if not h.up[i] or d.runtime not in h.runtimes[i] or h.cpu_total[i] < d.cpu:
            continue
        cpu_free = h.cpu_capacity[i] - h.cpu_used[i]
        mem_free = h.memory_capacity[i] - h.memory_used[i]
        if cpu_free < d.cpu or mem_free < d.memory_mb:
            continue
        score = (
            (h.cpu_used[i] + d.cpu) / h.cpu_capacity[i]
            + (h.memory_used[i] + d.memory_mb) / h.memory_capacity[i]
        ) / 2
        if score > best_score:
            best, best_score = name, score
    return best


def rate(n_hosts: int, decisions: int, *, baseline: bool) -> float:
    table = build_table(n_hosts)
    demands = mixed_trace(decisions, seed=n_hosts)
    scores = make_scores({"binpack": 1.0})
    gc.collect()
    gc.disable()  # as timeit does: a collection of the other runs' garbage is not this run's cost
    try:
        t0 = time.perf_counter()
        for d in demands:
            if baseline:
                host = python_loop_decide(d, table)
            else:
                host = decide(d, table.hosts, FILTERS, scores, explain=False).host
            if host is not None:
                table.claim(host, d)
        return decisions / (time.perf_counter() - t0)
    finally:
        gc.enable()


def pack(trace: list[Demand], n_hosts: int, score: str) -> int:
    table = build_table(n_hosts, mixed=False)
    scores = make_scores({score: 1.0})
    used: set[str] = set()
    for d in trace:
        host = decide(d, table.hosts, FILTERS, scores, explain=False).host
        assert host is not None, "trace does not fit"
        table.claim(host, d)
        used.add(host)
    return len(used)


def first_fit_decreasing(trace: list[Demand], cpu: float, memory: float) -> int:
    bins: list[list[float]] = []
    for d in sorted(trace, key=lambda d: max(d.cpu / cpu, d.memory_mb / memory), reverse=True):
        for b in bins:
            if b[0] + d.cpu <= cpu and b[1] + d.memory_mb <= memory:
                b[0] += d.cpu
                b[1] += d.memory_mb
                break
        else:
            bins.append([d.cpu, d.memory_mb])
    return len(bins)


def memory_mb(n_hosts: int, n_queued: int) -> float:
    """What the placement actor holds for ``n_hosts`` hosts and ``n_queued`` waiting capsules."""
    import tracemalloc

    from actors.placeables import JOB, Request

    tracemalloc.start()
    table = build_table(n_hosts)
    demands = mixed_trace(n_queued, seed=3)
    pending = {
        f"job-{i:06d}": Request(
            JOB,
            f"job-{i:06d}",
            d,
            {},
            None,
            None,
            "project",
            {"containers": 1, "cpu": d.cpu, "memory": d.memory_mb, "disk": 0},
        )
        for i, d in enumerate(demands)
    }
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert table and pending
    return current / (1 << 20)


def main() -> None:
    print("decisions per second (mixed demands, claim in place after each):")
    for n_hosts, decisions, base_decisions in ((1_000, 5_000, 500), (10_000, 2_000, 100)):
        arrays = rate(n_hosts, decisions, baseline=False)
        loop = rate(n_hosts, base_decisions, baseline=True)
        print(
            f"  {n_hosts:>6} hosts: arrays {arrays:9.0f}/s   python loop {loop:7.0f}/s   speed-up {arrays / loop:5.1f}x"
        )
    cpu, memory, hosts = 64.0, 262144.0, 400
    trace = mixed_trace(3_000, seed=1)
    bound = math.ceil(
        max(sum(d.cpu for d in trace) / cpu, sum(d.memory_mb for d in trace) / memory)
    )
    print(
        f"packing {len(trace)} capsules on identical hosts (64 cpus, 256 GiB), lower bound {bound} hosts:"
    )
    for name, used in (
        ("binpack", pack(trace, hosts, "binpack")),
        ("spread", pack(trace, hosts, "spread")),
        ("first-fit-decreasing (offline)", first_fit_decreasing(trace, cpu, memory)),
    ):
        print(f"  {name:<32} {used:4d} hosts   ratio {used / bound:.3f}")
    print(
        f"placement state for 10,000 hosts and 100,000 queued capsules: {memory_mb(10_000, 100_000):.0f} MiB (tracemalloc)"
    )


if __name__ == "__main__":
    main()
