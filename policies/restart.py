"""Restart policies of long-running capsules (Zun containers and capsules).

Zun containers name Docker's policies (``no``, ``on-failure[:N]``, ``always``,
``unless-stopped``); Zun capsules name Kubernetes' (``Always``, ``OnFailure``,
``Never``), stored as ``always``, ``on-failure``, ``no``. The engine (Docker, or
the VM guest's init) restarts a process that exits; this module decides what
outlives a lost host.
"""

from __future__ import annotations

from collections.abc import Mapping

ZUN_POLICIES = ("no", "always", "on-failure", "unless-stopped")


def policy_name(value: Mapping[str, object] | None) -> str:
    """The policy named by a Zun request's ``restart_policy`` ({"Name": "on-failure", "MaximumRetryCount": "3"},
    validated by the gateway); missing or empty means ``no``."""
    given = value or {}
    return str(given.get("Name") or given.get("name") or "no")


def moves_after_host_loss(name: str) -> bool:
    """A capsule whose host was lost is created again elsewhere if its policy would have restarted it:
    any policy but ``no`` (Zun's, or a capsule's ``Never``). A host loss is no exit of the process, so
    ``on-failure``'s retry count is not spent on it; the others become ``Unknown``, as in Zun."""
    return name != "no"
