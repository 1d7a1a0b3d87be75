"""Quota admission: does a demand fit under a project's limits? One rule for every kind.

Zun containers and capsules are admitted by the store when created (their
request fails with 403); jobs and function instances by placement when they
would start (they wait). Both ask ``over_quota``; -1 means unlimited.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Zun's quota resources: objects (app containers), cores, MB of memory, GB of disk
RESOURCES = ("containers", "cpu", "memory", "disk")


def over_quota(
    used: Mapping[str, float], asked: Mapping[str, float], limits: Mapping[str, float]
) -> list[str]:
    """The resources that ``asked`` on top of ``used`` would take past ``limits`` (in RESOURCES order)."""
    return [
        res for res in RESOURCES if limits[res] >= 0 and used[res] + asked.get(res, 0) > limits[res]
    ]


def quota_wait_reason(
    used: Mapping[str, float], asked: Mapping[str, float], limits: Mapping[str, float]
) -> str | None:
    """Why a queued capsule must wait for its project's quota (the first resource over), or None."""
    for res in over_quota(used, asked, limits)[:1]:
        return f"waiting for quota: {res} {used[res]:g} of {limits[res]:g} in use, {asked.get(res, 0):g} asked"
    return None
