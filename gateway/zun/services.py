"""Zun's /v1/services: one ``zun-compute`` service per host, mapped onto Zunray's host admin.

``disable`` takes a host out of placement (what runs there stays), ``enable`` puts it back,
``force_down`` makes placement count it as down whatever its heartbeats say (no new work;
``--unset`` undoes it). These are the records ``/v1/cluster/hosts`` changes too
(``gateway/routes/hosts.py``). The parameters come from the query string, as python-zunclient
sends them, or from a JSON body (Zun's pecan merges both; the query wins). No microversion
gate: Zun has none. ``DELETE`` is not offered: a host's service exists while its node does.
"""

from __future__ import annotations

import zlib
from typing import Any

from fastapi import APIRouter, Depends, Request

from gateway.caps import json_body
from gateway.context import StoreDep, enforce
from gateway.routes import hosts as host_admin
from gateway.zun.microversion import api_version
from gateway.zun.views import action_time, as_bool
from policies.zone import host_zone
from runner.errors import InvalidSpec, NotFound
from runner.store import Store
from runner.store.hosts import HostAdmin

router = APIRouter(
    prefix="/v1/services", tags=["zun services"], dependencies=[Depends(api_version)]
)

BINARY = "zun-compute"  # the one Zun service a Zunray host runs (its node actor)
NAME_CHARS = 255
#: the parameters each change takes (Zun's schemas: anything else is 400)
PARAMS = {
    "enable": {"host", "binary"},
    "disable": {"host", "binary", "disabled_reason"},
    "force_down": {"host", "binary", "forced_down"},
}


def service_view(h: dict, admin: HostAdmin) -> dict:
    """Zun's view of a host's zun-compute service (``h``: its line in placement's health)."""
    seen = h.get("last_seen") or None
    return {
        "id": zlib.crc32(h["name"].encode()),  # stable while the host's name is
        "host": h["name"],
        "binary": BINARY,
        "state": "up" if h.get("up", True) and not admin.forced_down else "down",
        "disabled": not admin.enabled,
        "disabled_reason": admin.reason or None,
        "forced_down": admin.forced_down,
        "availability_zone": host_zone(h.get("labels")),
        "report_count": 0,  # heartbeats are not counted
        "last_seen_up": action_time(seen),
        "created_at": None,
        "updated_at": action_time(admin.updated_at or seen),
    }


def _health_hosts(request: Request) -> list[dict]:
    return (request.app.state.cluster.health or {"hosts": []})["hosts"]


@router.get("")
@router.get("/", include_in_schema=False)
def list_services(request: Request, store: StoreDep) -> dict:
    enforce(request, "zun-service:get_all")
    admin = store.hosts.host_admin()
    hosts = sorted(_health_hosts(request), key=lambda h: h["name"])
    return {"services": [service_view(h, admin.get(h["name"], HostAdmin())) for h in hosts]}


async def _params(request: Request, action: str) -> dict[str, Any]:
    """The change's parameters: the query's, then a JSON object body's that the query lacks."""
    body = await json_body(request, empty={})
    if not isinstance(body, dict):
        raise InvalidSpec("the body must be a JSON object", field="body")
    params = {**body, **request.query_params}
    if extra := sorted(set(params) - PARAMS[action]):
        raise InvalidSpec(
            f"Additional properties are not allowed ({', '.join(extra[:5])[:200]} unexpected)",
            field=extra[0][:NAME_CHARS],
        )
    for key in ("host", "binary", "disabled_reason"):
        value = params.get(key)
        if key in params and (not isinstance(value, str) or not 1 <= len(value) <= NAME_CHARS):
            raise InvalidSpec(f"{key} must be a string of 1 to {NAME_CHARS} characters", field=key)
    for key in ("host", "binary"):
        if key not in params:
            raise InvalidSpec(f"'{key}' is a required property", field=key)
    if params["binary"] != BINARY or not host_admin.is_host(request, params["host"]):
        raise NotFound(
            f"Zun service {params['binary']} on host {params['host']} could not be found."
        )
    return params


def _change(request: Request, store: Store, action: str, params: dict[str, Any]) -> dict:
    host = params["host"]
    service = {"host": host, "binary": BINARY}
    if action == "force_down":
        if "forced_down" not in params:
            raise InvalidSpec("'forced_down' is a required property", field="forced_down")
        forced_down = as_bool(params["forced_down"], "forced_down")
        host_admin.change(request, store, host, forced_down=forced_down)
        return {"service": {**service, "forced_down": forced_down}}
    reason = params.get("disabled_reason") if action == "disable" else None
    host_admin.change(request, store, host, enabled=action == "enable", reason=reason or "")
    return {"service": {**service, "disabled": action == "disable", "disabled_reason": reason}}


@router.put("/{action}")
async def change_service(action: str, request: Request, store: StoreDep) -> dict:
    """``enable``, ``disable`` (``disabled_reason``) or ``force_down`` (``forced_down``)."""
    if action not in PARAMS:
        raise NotFound(f"Not found: /v1/services/{action[:64]}")
    enforce(request, f"zun-service:{action}")
    return _change(request, store, action, await _params(request, action))
