"""Operators' view of the hosts: allocation, pinned cpus, huge pages, and
enabling or disabling a host for new placements (what runs there stays)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.context import StoreDep, enforce
from runner.errors import NotFound

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


@router.put("/{name}", summary="Enable or disable a host for new placements")
def change_host(name: str, body: HostChange, request: Request, store: StoreDep) -> dict:
    enforce(request, "host:update")
    if name not in {h["name"] for h in _hosts(request)}:
        raise NotFound(f"host {name} not found")
    store.hosts.set_host_enabled(name, body.enabled, body.reason)
    request.app.state.cluster.placement.hosts_changed.remote()
    return {"name": name, "enabled": body.enabled, "reason": body.reason}
