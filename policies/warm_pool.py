"""Warm-pool sizing: how many function instances to start and which to stop.

Pure arithmetic over counts and idle times; the function actor applies it.
"""

from __future__ import annotations

import math


def instances_to_start(*, waiting: int, starting: int, serving: int, concurrency: int, min_instances: int, max_instances: int) -> int:
    """New instances for the invocations that wait, and to keep ``min_instances`` warm.

    Instances already starting count as capacity for the queue; the total
    never goes above ``max_instances``.
    """
    total = starting + serving
    for_queue = math.ceil(waiting / max(concurrency, 1)) - starting
    for_min = min_instances - total
    return max(0, min(max(for_queue, for_min), max_instances - total))


def instances_to_stop(idle_s: dict[str, float], *, serving: int, min_instances: int, idle_ttl_s: float) -> list[str]:
    """Idle instances past ``idle_ttl_s``, longest idle first, keeping ``min_instances``.

    ``idle_s`` maps each idle instance to how long it has been idle;
    ``serving`` counts all serving instances, busy or idle.
    """
    spare = serving - min_instances
    expired = sorted((s for s, idle in idle_s.items() if idle >= idle_ttl_s), key=lambda s: -idle_s[s])
    return expired[: max(spare, 0)]
