"""Warm-pool sizing: how many function instances to start and which to stop.

Pure arithmetic over counts and idle times; the function actor applies it.
"""

from __future__ import annotations

import math


def instances_to_start(
    *,
    waiting: int,
    starting: int,
    serving: int,
    concurrency: int,
    min_instances: int,
    max_instances: int,
) -> int:
    """New instances for the invocations that wait, and to keep ``min_instances`` warm.

    Instances already starting count as capacity for the queue; the total
    never goes above ``max_instances``.
    """
    total = starting + serving
    for_queue = math.ceil(waiting / max(concurrency, 1)) - starting
    for_min = min_instances - total
    return max(0, min(max(for_queue, for_min), max_instances - total))


def instances_to_stop(
    idle_s: dict[str, float], *, serving: int, min_instances: int, idle_ttl_s: float
) -> list[str]:
    """Idle instances past ``idle_ttl_s``, longest idle first, keeping ``min_instances``.

    ``idle_s`` maps each idle instance to how long it has been idle;
    ``serving`` counts all serving instances, busy or idle.
    """
    spare = serving - min_instances
    expired = sorted(
        (s for s, idle in idle_s.items() if idle >= idle_ttl_s), key=lambda s: -idle_s[s]
    )
    return expired[: max(spare, 0)]


def instances_to_retire(
    idle_s: dict[str, float],
    versions: dict[str, int],
    *,
    version: int,
    deleted: bool,
    min_instances: int,
    idle_ttl_s: float,
) -> list[str]:
    """Which idle instances of a function to stop now.

    ``versions`` maps every serving instance (busy or idle) to its function
    version, ``idle_s`` the idle ones to how long they have been idle. A deleted
    function stops every idle instance; otherwise idle instances of an older
    version go at once (they drain), and current ones past ``idle_ttl_s``
    (``instances_to_stop``). Busy instances are never stopped.
    """
    if deleted:
        return list(idle_s)
    outdated = [u for u in idle_s if versions[u] != version]
    current_idle = {u: t for u, t in idle_s.items() if versions[u] == version}
    serving = sum(1 for v in versions.values() if v == version)
    expired = instances_to_stop(
        current_idle, serving=serving, min_instances=min_instances, idle_ttl_s=idle_ttl_s
    )
    return outdated + expired
