"""Paging of Zunray's own lists (jobs, functions, schedules), one convention for all.

``limit`` (1..1000, 50 by default) items per page; ``marker`` is the last ``id`` of
the previous page; ``next`` is the link to the following page, or null on the last
one. A marker that is not one of the caller's project's objects is 404 "marker ...
not found", exactly like one that never existed.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"items per page (at most {MAX_LIMIT})")
]
Marker = Annotated[
    str | None, Query(max_length=255, description="the last id of the previous page")
]


def next_link(path: str, ids: list[str], limit: int, **query: object) -> str | None:
    """The link to the page after ``ids`` (None when this page is not full, so it is the last)."""
    if len(ids) < limit:
        return None
    params = [("limit", limit), ("marker", ids[-1])]
    for key, value in query.items():
        params += [(key, v) for v in value] if isinstance(value, (list, tuple)) else [(key, value)]
    return f"{path}?{urlencode(params)}"
