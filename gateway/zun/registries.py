"""Zun's /v1/registries: private image registries with credentials.

Bodies are wrapped in ``{"registry": ...}`` on create, show and update (not in
lists), and the password is always shown as ``***``; it is stored sealed.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from gateway.caps import capped, json_body
from runner.caps import SECRET_CHARS, SHORT_CHARS
from gateway.context import CallerDep
from gateway.zun import openapi
from gateway.zun.microversion import api_version
from gateway.zun.views import as_bool
from runner.errors import InvalidSpec

router = APIRouter(
    prefix="/v1/registries", tags=["zun registries"], dependencies=[Depends(api_version)]
)

FIELDS = ("name", "domain", "username", "password")
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
DOMAIN_RE = re.compile(r"^[a-zA-Z0-9.-]+(:[0-9]+)?$")


def _view(r: dict[str, Any], base: str | None) -> dict[str, Any]:
    view = {k: r[k] for k in ("uuid", "user_id", "project_id", "name", "domain", "username")}
    view["password"] = "***"
    if base is not None:
        view["links"] = [
            {"href": f"{base}/v1/registries/{r['uuid']}", "rel": "self"},
            {"href": f"{base}/registries/{r['uuid']}", "rel": "bookmark"},
        ]
    return view


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _fields(body: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("registry"), dict):
        raise InvalidSpec('the body must be {"registry": {...}}', field="registry")
    reg = body["registry"]
    unknown = sorted(set(reg) - set(FIELDS))
    if unknown:
        raise InvalidSpec(
            f"Additional properties are not allowed ({unknown[0][:64]!r} was unexpected)",
            field=unknown[0][:64],
        )
    for key in FIELDS:
        if reg.get(key) is not None and not isinstance(reg[key], str):
            raise InvalidSpec(f"{key} must be a string", field=key)
        capped(reg.get(key) or "", SECRET_CHARS if key == "password" else SHORT_CHARS, key)
    if creating and not reg.get("domain"):
        raise InvalidSpec("'domain' is a required property", field="domain")
    if "domain" in reg and not DOMAIN_RE.match(str(reg["domain"])):
        raise InvalidSpec(f"invalid registry domain {reg['domain']!r}", field="domain")
    if reg.get("name") is not None and not NAME_RE.match(str(reg["name"])):
        raise InvalidSpec(f"invalid registry name {reg['name']!r}", field="name")
    return dict(reg)


@router.post("", status_code=201, openapi_extra=openapi.body(openapi.REGISTRY))
@router.post("/", status_code=201, include_in_schema=False)
async def create(request: Request, caller: CallerDep) -> JSONResponse:
    reg = _fields(await json_body(request), creating=True)
    box = request.app.state.secrets
    values = {
        "uuid": str(uuid.uuid4()),
        "name": reg.get("name") or f"registry-{uuid.uuid4().hex[:8]}",
        "domain": reg["domain"],
        "username": reg.get("username"),
        "password": box.seal(reg.get("password")),
        "project_id": caller.project_id,
        "user_id": caller.user_id,
    }
    r = request.app.state.store.registries.create_registry(values)
    return JSONResponse(
        {"registry": _view(r, _base(request))},
        status_code=201,
        headers={"Location": f"{_base(request)}/v1/registries/{r['uuid']}"},
    )


@router.get("")
@router.get("/", include_in_schema=False)
def list_registries(
    request: Request,
    caller: CallerDep,
    all_projects: str = "false",
    limit: int | None = None,
    marker: str | None = None,
) -> dict:
    scope = None if caller.is_admin and as_bool(all_projects, "all_projects") else caller.project_id
    page = min(limit or 1000, 1000)
    found = request.app.state.store.registries.list_registries(
        project_id=scope, limit=page, marker=marker
    )
    next_link = (
        f"{_base(request)}/v1/registries?limit={limit}&marker={found[-1]['uuid']}"
        if limit and len(found) == page
        else None
    )
    return {"registries": [_view(r, None) for r in found], "next": next_link}


@router.get("/{ident}")
def show(ident: str, request: Request, caller: CallerDep) -> dict:
    return {
        "registry": _view(
            request.app.state.store.registries.get_registry(ident, project_id=caller.project_id),
            _base(request),
        )
    }


@router.patch("/{ident}", openapi_extra=openapi.body(openapi.REGISTRY))
async def update(ident: str, request: Request, caller: CallerDep) -> dict:
    store = request.app.state.store
    r = store.registries.get_registry(ident, project_id=caller.project_id)
    reg = _fields(await json_body(request), creating=False)
    if "password" in reg:
        reg["password"] = request.app.state.secrets.seal(reg["password"])
    return {"registry": _view(store.registries.update_registry(r["uuid"], reg), _base(request))}


@router.delete("/{ident}", status_code=204)
def delete(ident: str, request: Request, caller: CallerDep) -> Response:
    store = request.app.state.store
    store.registries.delete_registry(
        store.registries.get_registry(ident, project_id=caller.project_id)["uuid"]
    )
    return Response(status_code=204)
