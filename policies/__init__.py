"""Placement policies: pure filters and scores over plain data, chosen by name.

``decide`` runs the configured filters, then the weighted scores, and returns a
``Decision`` that keeps every rejected host's reason and every score, so that
"why is my job pending?" has an answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from policies.affinity import AffinityFilter
from policies.balanced import BalancedScore
from policies.base import Demand, Filter, FilterResult, Hosts, Score
from policies.binpack import BinPackScore
from policies.fit import FitFilter, never_fits
from policies.hints import LabelsFilter, RequestedHostFilter
from policies.hugepages import HugePagesFilter
from policies.ratio import RatioScore
from policies.spread import SpreadScore
from policies.zone import ZoneFilter

#: name -> class; configuration enables them by name (filters) and weight (scores)
FILTERS: dict[str, type] = {
    cls.NAME: cls
    for cls in (
        FitFilter,
        RequestedHostFilter,
        LabelsFilter,
        ZoneFilter,
        HugePagesFilter,
        AffinityFilter,
    )
}
SCORES: dict[str, type] = {
    cls.NAME: cls for cls in (BinPackScore, SpreadScore, BalancedScore, RatioScore)
}

__all__ = [
    "Decision",
    "Demand",
    "Hosts",
    "Filter",
    "Score",
    "FilterResult",
    "decide",
    "make_filters",
    "make_scores",
    "FILTERS",
    "SCORES",
]


def make_filters(names: tuple[str, ...] | list[str]) -> list[Filter]:
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise ValueError(f"unknown placement filters {unknown}; known: {sorted(FILTERS)}")
    return [FILTERS[n]() for n in names]


def make_scores(
    weights: dict[str, float], params: dict[str, dict[str, Any]] | None = None
) -> list[tuple[Score, float]]:
    """The weighted scores; ``params`` holds a score's own settings by name (e.g. ``ratio``'s shape)."""
    params = params or {}
    unknown = [n for n in (*weights, *params) if n not in SCORES]
    if unknown:
        raise ValueError(f"unknown placement scores {unknown}; known: {sorted(SCORES)}")
    return [(SCORES[n](**params.get(n, {})), float(w)) for n, w in weights.items()]


@dataclass(slots=True)
class Decision:
    """Where a capsule goes (or not), and why."""

    host: str | None
    reasons: dict[str, str] = field(default_factory=dict)  # rejected host -> reason
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # host -> policy -> score
    never: str | None = None  # set when no host could take it even if empty

    def summary(self) -> str:
        """One line: "2 hosts: insufficient memory ...; 1 host: runtime runsc missing"."""
        if self.host is not None:
            return f"placed on {self.host}"
        if self.never:
            return self.never
        if not self.reasons:
            return "no hosts registered"
        counts = Counter(self.reasons.values())
        return "; ".join(
            f"{n} host{'s' if n > 1 else ''}: {why}" for why, n in counts.most_common()
        )


def decide(
    demand: Demand,
    hosts: Hosts,
    filters: list[Filter],
    scores: list[tuple[Score, float]],
    *,
    explain: bool = True,
) -> Decision:
    """Pick the best host for ``demand``. Pure: reads ``hosts``, changes nothing."""
    passed = np.ones(len(hosts), dtype=bool)
    reasons: dict[str, str] = {}
    for f in filters:
        result = f.filter(demand, hosts, explain=explain)
        if result is None:
            continue
        for i, why in result.reasons.items():
            if passed[i]:
                reasons[hosts.names[i]] = why
        passed &= result.passed
    candidates = np.flatnonzero(passed)
    if candidates.size == 0:
        return Decision(host=None, reasons=reasons, never=never_fits(demand, hosts))
    total = np.zeros(len(hosts))
    per_policy: dict[str, np.ndarray] = {}
    for s, weight in scores:
        values = np.clip(s.score(demand, hosts), 0.0, 100.0)
        per_policy[s.NAME] = values
        total += weight * values
    best = int(candidates[np.argmax(total[candidates])])
    detail: dict[str, dict[str, float]] = {}
    if explain and len(candidates) <= 64:
        detail = {
            hosts.names[i]: {n: float(v[i]) for n, v in per_policy.items()} for i in candidates
        }
    return Decision(host=hosts.names[best], reasons=reasons if explain else {}, scores=detail)
