"""The dashboard's charts over time: a bounded ring of samples the gateway takes, and
per-minute counts read from the store.

Every ``dashboard_sample_s`` one background task asks placement for each project's
queued and placed capsules and the functions actor for its cold-start and warm-hit
counters, and keeps the newest ``dashboard_samples`` samples (default 720 x 5 s, one
hour). A sample holds only the projects with something in it, so the ring's size is
bounded by samples x active projects, not by every project there is. The ring lives
in this gateway's memory: it starts empty when the gateway starts.

Job outcomes and cpu usage per minute are counted by the store (jobs.finished_at, usage
records, grouped by minute), over the same window, so they survive a restart and agree between gateways.

``charts`` turns both into the JSON the page draws; it is pure, and it is where a
member's view is cut down to their own project.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.cluster import Cluster

log = logging.getLogger(__name__)

MINUTE_S = 60.0
MAX_SERIES = 8  # projects drawn one by one in a chart; the rest are summed as "other"
OUTCOMES = ("Succeeded", "Failed", "Cancelled", "TimedOut")


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # epoch seconds
    queued: dict[str, int]  # project -> capsules waiting for a host
    placed: dict[str, int]  # project -> capsules holding a host (starting, running, ending)
    cold: dict[str, int]  # project -> instances started for waiting calls since the previous sample
    warm: dict[
        str, int
    ]  # project -> calls served by an idle warm instance since the previous sample


class SeriesRing:
    """The newest ``samples`` samples, oldest first."""

    def __init__(self, *, samples: int) -> None:
        self._ring: deque[Sample] = deque(maxlen=samples)
        self._counters: dict[tuple[str, str], tuple[int, int]] | None = (
            None  # (project, function) -> (cold, warm)
        )

    def add(self, at: float, placement: dict, function_stats: list[dict]) -> None:
        """Record what placement and the functions actor answered at ``at``."""
        counters = {
            (f["project_id"], f["function"]): (f["cold_starts"], f["warm_hits"])
            for f in function_stats
        }
        cold: dict[str, int] = {}
        warm: dict[str, int] = {}
        # the first sample is the baseline: what the counters held before it is not this interval's
        if self._counters is not None:
            for (project, function), (c, w) in counters.items():
                was_c, was_w = self._counters.get((project, function), (0, 0))
                # a counter that went down belongs to a restarted actor: it counted from zero
                _add(cold, project, c - was_c if c >= was_c else c)
                _add(warm, project, w - was_w if w >= was_w else w)
        self._counters = counters
        self._ring.append(
            Sample(
                at=at,
                queued={p: n for p, n in placement.get("queued", {}).items() if n},
                placed={p: n for p, n in placement.get("placed", {}).items() if n},
                cold={p: n for p, n in cold.items() if n},
                warm={p: n for p, n in warm.items() if n},
            )
        )

    def samples(self) -> list[Sample]:
        return list(self._ring)


def _add(into: dict[str, float], key: str, value: float) -> None:
    into[key] = into.get(key, 0) + value


def _top(series: dict[str, list[float]]) -> dict[str, list[float]]:
    """The MAX_SERIES biggest series by total; the rest summed into "other"."""
    ranked = sorted(series, key=lambda k: (-sum(series[k]), k))
    kept = {k: series[k] for k in sorted(ranked[:MAX_SERIES])}
    rest = ranked[MAX_SERIES:]
    if rest:
        kept["other"] = [sum(series[k][i] for k in rest) for i in range(len(series[rest[0]]))]
    return kept


def _by_project(values: list[dict[str, int]]) -> dict[str, list[float]]:
    projects = sorted({p for v in values for p in v})
    return _top({p: [v.get(p, 0) for v in values] for p in projects})


def charts(
    samples: list[Sample],
    ended: list[tuple[str, str, float, int]],
    cpu: list[tuple[str, float, float]],
    *,
    start: float,
    end: float,
    project: str | None,
) -> dict:
    """The charts of [start, end) as {name: {unit, step_s, times, series: {label: values}}}: a
    value is at an instant (step_s 0, a sample) or covers [time, time + step_s) (a minute).

    ``ended`` holds (project, status, minute start, jobs) of jobs that ended in the window,
    ``cpu`` (project, minute start, cpu-seconds) of usage records (the store counts them).
    ``project`` None is every project (an admin's view); otherwise everything of other
    projects is left out.
    """

    def mine(p: str) -> bool:
        return project is None or p == project

    samples = [s for s in samples if start <= s.at < end]
    times = [s.at for s in samples]
    first_minute = math.floor(start / MINUTE_S) * MINUTE_S
    minutes = [
        first_minute + i * MINUTE_S
        for i in range(max(1, math.ceil((end - first_minute) / MINUTE_S)))
    ]

    def minute_of(at: float) -> int:
        return max(0, min(len(minutes) - 1, int((at - first_minute) // MINUTE_S)))

    outcomes = {status: [0] * len(minutes) for status in OUTCOMES}
    for p, status, minute, n in ended:
        if mine(p) and status in outcomes:
            outcomes[status][minute_of(minute)] += n
    invocations = {"cold": [0] * len(minutes), "warm": [0] * len(minutes)}
    for s in samples:
        invocations["cold"][minute_of(s.at)] += sum(n for p, n in s.cold.items() if mine(p))
        invocations["warm"][minute_of(s.at)] += sum(n for p, n in s.warm.items() if mine(p))
    cpu_s: dict[str, list[float]] = {}
    for p, minute, used in cpu:
        if mine(p):
            cpu_s.setdefault(p, [0.0] * len(minutes))[minute_of(minute)] += used / MINUTE_S
    per_minute = {"step_s": MINUTE_S, "times": minutes}
    return {
        "queue_depth": {
            "unit": "capsules waiting",
            "step_s": 0,
            "times": times,
            "series": _by_project(
                [{p: n for p, n in s.queued.items() if mine(p)} for s in samples]
            ),
        },
        "placed": {
            "unit": "capsules holding a host",
            "step_s": 0,
            "times": times,
            "series": _by_project(
                [{p: n for p, n in s.placed.items() if mine(p)} for s in samples]
            ),
        },
        "outcomes": {"unit": "jobs ended per minute", **per_minute, "series": outcomes},
        "invocations": {"unit": "function calls per minute", **per_minute, "series": invocations},
        "usage": {
            "unit": "cpu cores used (per-minute average)",
            **per_minute,
            "series": _top(cpu_s),
        },
    }


async def sample_forever(ring: SeriesRing, cluster: Cluster, *, every_s: float) -> None:
    """Background task: one sample every ``every_s``; a cluster that does not answer leaves a gap."""
    while True:
        try:
            placement = await cluster.call(cluster.placement.metrics.remote())
            functions = await cluster.call(cluster.functions.all_stats.remote())
        except Exception as exc:  # keep sampling whatever happened, as the health poller does
            log.debug("no dashboard sample: %s", exc)
        else:
            ring.add(time.time(), placement, functions)
        await asyncio.sleep(every_s)
