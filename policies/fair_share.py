"""Which waiting requests one placement round considers: a fair share per project.

Each project's queue is taken in its own order, at most ``per_project`` of it,
and the projects take turns (round-robin, in the order each first appears), so
one project's backlog neither delays another's requests within a round nor
makes the round longer than ``per_project`` requests per project.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain, zip_longest


def round_robin(queue: Iterable[tuple[str, str]], *, per_project: int) -> list[str]:
    """Ids to consider, in order, from ``queue``: (id, project) pairs in arrival order."""
    per: dict[str, list[str]] = {}
    for obj_id, project in queue:
        mine = per.setdefault(project, [])
        if len(mine) < per_project:
            mine.append(obj_id)
    turns = zip_longest(*per.values())  # the first of each project, then the second of each, ...
    return [obj_id for obj_id in chain.from_iterable(turns) if obj_id is not None]
