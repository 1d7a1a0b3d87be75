"""Zun's /v1/quotas/{project_id} and /v1/quota_classes/{name}, in Zun's shapes.

A project's quota also holds its fair-share caps (``runner.fair_share``): set
here by an admin, shown only where the project has its own value for one.

Limits are stored and shown here; enforcement on create and resize arrives
with Keystone projects (see the Keystone/quotas issue).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from gateway.caps import json_body
from gateway.context import CallerDep, enforce
from gateway.zun import openapi
from gateway.zun.microversion import api_version
from policies.quota import RESOURCES
from runner.errors import InvalidSpec, NotFound
from runner.fair_share import CAPS

router = APIRouter(tags=["zun quotas"], dependencies=[Depends(api_version)])


def _limits(body: Any, known: tuple[str, ...] = RESOURCES) -> dict[str, float]:
    if not isinstance(body, dict) or not body:
        raise InvalidSpec(f"give one or more of {', '.join(known)}")
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise InvalidSpec(
            f"Additional properties are not allowed ({unknown[0][:64]!r} was unexpected)",
            field=unknown[0][:64],
        )
    out = {}
    for res, value in body.items():
        # a limit of more than 18 digits is no limit a host can have (and int() of a long string is slow)
        digits = value.removeprefix("-") if isinstance(value, str) else ""
        if isinstance(value, bool) or not (
            (isinstance(value, int) and abs(value) < 10**18)
            or (digits.isascii() and digits.isdigit() and len(digits) <= 18)
        ):
            raise InvalidSpec(f"{res} must be an integer (-1: unlimited)", field=res)
        if int(value) < -1:
            raise InvalidSpec(f"{res} must be -1 or more", field=res)
        out[res] = float(int(value))
    return out


def _owner_or_admin(caller, project_id: str) -> None:  # noqa: ANN001
    if not caller.is_admin and caller.project_id != project_id:
        raise NotFound(f"Project {project_id} could not be found.")


def _quota_view(store, project_id: str) -> dict:  # noqa: ANN001
    """Zun's four resources, then the fair-share caps the project has its own value for
    (a project without one answers exactly as Zun does)."""
    return {
        **store.quotas.quota(project_id),
        **store.quotas.quota_overrides(project_id, tuple(CAPS)),
    }


@router.get("/v1/quotas/{project_id}")
def get_quota(
    project_id: str, request: Request, caller: CallerDep, usages: str | None = None
) -> dict:
    _owner_or_admin(caller, project_id)
    store = request.app.state.store
    if not usages:  # Zun: any non-empty value selects the usage form
        return _quota_view(store, project_id)
    limits = store.quotas.quota(project_id)
    used = store.quotas.usage(project_id)
    return {res: {"limit": limits[res], "in_use": used[res]} for res in RESOURCES}


@router.put("/v1/quotas/{project_id}", openapi_extra=openapi.body(openapi.QUOTAS))
async def update_quota(project_id: str, request: Request, caller: CallerDep) -> dict:
    """Accepted even below current usage (as Zun): new admissions then wait or fail.
    Besides Zun's resources, the fair-share caps of ``runner.fair_share.CAPS`` (-1: none)."""
    enforce(request, "quota:update")
    store = request.app.state.store
    store.quotas.set_quota(project_id, _limits(await json_body(request), RESOURCES + tuple(CAPS)))
    return _quota_view(store, project_id)


@router.get("/v1/quotas/{project_id}/defaults")
def quota_defaults(project_id: str, request: Request, caller: CallerDep) -> dict:
    _owner_or_admin(caller, project_id)
    return request.app.state.store.quotas.quota_class()


@router.delete("/v1/quotas/{project_id}")
def delete_quota(project_id: str, request: Request, caller: CallerDep) -> JSONResponse:
    enforce(request, "quota:delete")
    request.app.state.store.quotas.delete_quota(project_id)
    return JSONResponse(None, status_code=200)  # Zun answers 200 with null, not 204


@router.get("/v1/quota_classes/{name}")
def get_quota_class(name: str, request: Request, caller: CallerDep) -> dict:
    enforce(request, "quota_class:get")
    return request.app.state.store.quotas.quota_class(name)


@router.put("/v1/quota_classes/{name}", openapi_extra=openapi.body(openapi.QUOTA_CLASS))
async def update_quota_class(name: str, request: Request, caller: CallerDep) -> dict:
    enforce(request, "quota_class:update")
    return request.app.state.store.quotas.set_quota_class(name, _limits(await json_body(request)))
