"""Retry backoff: exponential, capped, with jitter above a floor.

Pure arithmetic: the node actor asks for the delay of a failed attempt's retry.
"""

from __future__ import annotations

import random

#: doublings after which the ceiling stops growing (2**62 times any base passes any max_s; a larger
#: power of two would overflow the float conversion for a job retried a thousand times)
_MAX_DOUBLINGS = 62


def backoff_s(attempt: int, *, base_s: float, max_s: float, rand: float | None = None) -> float:
    """Delay before retry number ``attempt`` (1 = first retry), never above ``max_s``.

    Uniform in [base/2, min(max, base*2^(attempt-1))]: the floor keeps a retry
    from hammering at once, the jitter keeps many failed jobs from retrying in
    step. ``rand`` in [0, 1] replaces the random draw (tests).
    """
    ceiling = min(max_s, base_s * 2.0 ** min(max(0, attempt - 1), _MAX_DOUBLINGS))
    floor = min(base_s / 2, ceiling)  # a max_s below base_s/2 still caps the delay
    r = random.random() if rand is None else rand
    return floor + r * (ceiling - floor)
