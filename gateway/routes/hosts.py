"""Operators' view of the hosts: allocation, pinned cpus, huge pages, and
enabling or disabling a host for new placements (what runs there stays)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.context import StoreDep, enforce
from runner.errors import NotFound
from runner.store import Store

router = APIRouter(prefix="/v1/cluster/hosts", tags=["cluster"])


class HostChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    reason: str = Field(
        "", max_length=255, description="why (shown in every pending capsule's reasons)"
    )


def _hosts(request: Request) -> list[dict]:
    health = request.app.state.cluster.health or {"hosts": []}
    return health["hosts"]


@router.get(
    "", summary="Hosts with their allocation, pins, huge pages and whether they take new work"
)
def list_hosts(request: Request) -> dict:
    enforce(request, "host:get_all")
    return {"hosts": _hosts(request)}


def is_host(request: Request, name: str) -> bool:
    """Whether placement knows a host of this name (up or down)."""
    return name in {h["name"] for h in _hosts(request)}


def change(
    request: Request,
    store: Store,
    name: str,
    *,
    enabled: bool | None = None,
    reason: str = "",
    forced_down: bool | None = None,
) -> None:
    """Record an operator's change of a host (None: unchanged) and have placement take it in now
    (this route and Zun's ``/v1/services``)."""
    if enabled is not None:
        store.hosts.set_host_enabled(name, enabled, reason)
    if forced_down is not None:
        store.hosts.set_host_forced_down(name, forced_down)
    request.app.state.cluster.placement.hosts_changed.remote()


@router.put("/{name}", summary="Enable or disable a host for new placements")
def change_host(name: str, body: HostChange, request: Request, store: StoreDep) -> dict:
    enforce(request, "host:update")
    if not is_host(request, name):
        raise NotFound(f"host {name} not found")
    change(request, store, name, enabled=body.enabled, reason=body.reason)
    return {"name": name, "enabled": body.enabled, "reason": body.reason}
