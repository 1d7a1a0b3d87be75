"""Zun's /v1/hosts: the hosts as their node actors report them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request

from gateway.context import enforce
from gateway.zun.microversion import VersionDep, api_version, require
from runner.errors import NotFound

router = APIRouter(prefix="/v1/hosts", tags=["zun hosts"], dependencies=[Depends(api_version)])


def host_view(h: dict, base: str) -> dict:
    """Zun's view of a host from its line in placement's health report (``base``: the API's URL)."""
    host_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, h["name"]))
    return {
        "uuid": host_uuid,
        "hostname": h["name"],
        "mem_total": int(h["memory_mb"]),
        "mem_used": int(h["memory_used_mb"]),
        "total_containers": h.get("containers", 0),
        "cpus": h["cpus"],
        "cpu_used": h["cpu_used"],
        "disk_total": h.get("disk_total_gb", 0),  # GB of the filesystem of Docker's data root
        "disk_used": h.get("disk_used_gb", 0),
        "architecture": "x86_64",
        "os_type": "linux",
        "os": "Debian GNU/Linux",
        "kernel_version": "",
        "labels": dict(h.get("labels") or {}),  # the node's labels (ZUNRAY_NODE_LABELS)
        "runtimes": h["runtimes"],
        "enable_cpu_pinning": False,
        "links": [{"href": f"{base}/v1/hosts/{host_uuid}", "rel": "self"}],
    }


def _hosts(request: Request) -> list[dict]:
    health = request.app.state.cluster.health or {"hosts": []}
    base = str(request.base_url).rstrip("/")
    return [host_view(h, base) for h in health["hosts"]]


@router.get("")
@router.get("/", include_in_schema=False)
def list_hosts(request: Request, version: VersionDep) -> dict:
    require(version, since="1.4")
    enforce(request, "host:get_all")
    return {"hosts": _hosts(request), "next": None}


@router.get("/{ident}")
def show_host(ident: str, request: Request, version: VersionDep) -> dict:
    require(version, since="1.4")
    enforce(request, "host:get")
    for h in _hosts(request):
        if ident in (h["uuid"], h["hostname"]):
            return h
    raise NotFound(f"Compute node {ident} could not be found.")
