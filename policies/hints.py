"""Filters from the request's own hints: a requested host, required host labels."""

from __future__ import annotations

import numpy as np

from policies.base import Demand, FilterResult, Hosts


class RequestedHostFilter:
    """Only the host the request names (Zun's admin-only ``host``)."""

    NAME = "host"

    def filter(self, demand: Demand, hosts: Hosts, *, explain: bool = True) -> FilterResult | None:
        if demand.host is None:
            return None  # no constraint
        passed = np.array([name == demand.host for name in hosts.names], dtype=bool)
        reasons = (
            {int(i): f"not the requested host {demand.host}" for i in np.flatnonzero(~passed)}
            if explain
            else {}
        )
        return FilterResult(passed=passed, reasons=reasons)


class LabelsFilter:
    """Hosts carrying every required label (Zun hints ``label:key=value``)."""

    NAME = "labels"

    def filter(self, demand: Demand, hosts: Hosts, *, explain: bool = True) -> FilterResult | None:
        if not demand.labels:
            return None  # no constraint
        labels = hosts.labels or [{}] * len(hosts)
        missing = [
            [f"{k}={v}" for k, v in demand.labels if host_labels.get(k) != v]
            for host_labels in labels
        ]
        passed = np.array([not m for m in missing], dtype=bool)
        return FilterResult(
            passed=passed,
            reasons={i: f"missing label {', '.join(m)}" for i, m in enumerate(missing) if m},
        )
