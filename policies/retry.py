"""Retry backoff: exponential with full jitter (AWS architecture blog's "full jitter")."""

from __future__ import annotations

import random


def backoff_s(attempt: int, *, base_s: float, max_s: float, rand: float | None = None) -> float:
    """Delay before retry number ``attempt`` (1 = first retry): uniform in [base/2, min(max, base*2^(attempt-1))]."""
    ceiling = min(max_s, base_s * (2 ** max(0, attempt - 1)))
    r = random.random() if rand is None else rand
    return base_s / 2 + r * max(0.0, ceiling - base_s / 2)
