"""Zun's /v1/capsules: create from a template, list, show, delete.

A capsule is placed as one request (all its containers on one host) and
started by that host's node actor all-or-nothing.
"""

from __future__ import annotations

import asyncio
import functools

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from gateway.caps import INLINE_PARSE_BYTES, parse_json
from gateway.context import CallerDep, enforce, project_scope
from gateway.images import check_images, check_pull_policies
from gateway.zun.capsule_template import capsule_from_body
from gateway.zun import openapi
from gateway.zun.microversion import Version, VersionDep, api_version
from gateway.zun.views import as_bool, zun_time
from runner.secret_refs import check_refs_exist, ref_views
from runner.containers import Capsule
from runner.models import ContainerSpec
from policies.access import allowed
from runner.mounts import HOST_MOUNTS_RULE

router = APIRouter(
    prefix="/v1/capsules", tags=["zun capsules"], dependencies=[Depends(api_version)]
)


def _member_view(cap: Capsule, spec: ContainerSpec, admin: bool) -> dict:
    info = cap.members.get(spec.name, {})
    view = {
        "uuid": info.get("uuid"),
        "name": spec.name,
        "image": spec.image,
        "command": list(spec.command),
        "status": info.get("status", cap.status.value),
        "cpu": spec.resources.cpu,
        "memory": str(spec.resources.memory_mb),
        "environment": dict(spec.env),
        "secrets": ref_views(spec.secrets),  # a Zunray extension: the references, never values
        "workdir": spec.workdir,
        "restart_policy": {"MaximumRetryCount": "10", "Name": "on-failure"}
        if cap.restart_policy == "always"
        else {"MaximumRetryCount": "0", "Name": cap.restart_policy},
        "project_id": cap.project_id,
        "user_id": cap.user_id,
    }
    if admin:
        view["host"] = cap.host
    return view


def capsule_view(cap: Capsule, version: Version, base_url: str, *, admin: bool) -> dict:
    d = cap.demand()
    view = {
        "uuid": cap.uuid,
        "links": [
            {"href": f"{base_url}/v1/capsules/{cap.uuid}", "rel": "self"},
            {"href": f"{base_url}/capsules/{cap.uuid}", "rel": "bookmark"},
        ],
        "user_id": cap.user_id,
        "project_id": cap.project_id,
        "created_at": zun_time(cap.created_at),
        "updated_at": zun_time(cap.updated_at),
        "addresses": {},  # network name -> addresses; {} until a network reports one (Zun clients iterate it)
        "status": cap.status.value,
        "status_reason": cap.status_reason or None,
        "restart_policy": {"MaximumRetryCount": "0", "Name": cap.restart_policy},
        "name": cap.name,
        "labels": cap.labels,
        "annotations": cap.annotations,
        "memory": str(d.memory_mb),
        "cpu": d.cpu,
        "runtime": cap.capsule.runtime,
        "init_containers": [_member_view(cap, c, admin) for c in cap.capsule.init_containers],
        "containers": [_member_view(cap, c, admin) for c in cap.capsule.containers],
    }
    if admin:
        view["host"] = cap.host
    if version < Version(1, 32):  # the legacy shape
        view["meta_name"] = view.pop("name")
        view["meta_labels"] = view.pop("labels")
        view["restart_policy"] = cap.restart_policy
        view.update(
            volumes_info={},
            containers_uuids=[m["uuid"] for m in view["containers"]],
            init_containers_uuids=[m["uuid"] for m in view["init_containers"]],
            capsule_version="",
        )
    return view


def _capsule_of(raw: bytes, *, caller, may_mount_host: bool, network: str | None) -> Capsule:  # noqa: ANN001
    return capsule_from_body(
        parse_json(raw), caller=caller, may_mount_host=may_mount_host, network=network
    )


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.post("", status_code=202, openapi_extra=openapi.body(openapi.CAPSULE_CREATE))
@router.post("/", status_code=202, include_in_schema=False)
async def create(request: Request, caller: CallerDep, version: VersionDep) -> JSONResponse:
    raw = await request.body()
    network = "project" if request.app.state.settings.project_networks else None
    may_mount_host = allowed(request.app.state.rules, HOST_MOUNTS_RULE, caller.roles)
    parse = functools.partial(
        _capsule_of, raw, caller=caller, may_mount_host=may_mount_host, network=network
    )
    cap = (
        await asyncio.to_thread(parse) if len(raw) > INLINE_PARSE_BYTES else parse()
    )  # megabytes of JSON: not on the event loop
    cluster = request.app.state.cluster
    if cap.capsule.runtime != "runc":
        enforce(request, "capsule:create:runtime")
    members = (*cap.capsule.init_containers, *cap.capsule.containers)
    check_pull_policies(
        request, "capsule:create:image_pull_policy", [m.pull_policy for m in members]
    )
    check_images(request, [(f"spec.containers[{m.name}].image", m.image) for m in members])
    cluster.admit(cap.demand().memory_mb, runtime=cap.capsule.runtime, field="spec.containers")
    cluster.require_zone(cap.capsule.availability_zone, field="availabilityZone")
    store = request.app.state.store
    for m in members:
        check_refs_exist(
            store, caller.project_id, list(m.secrets), field=f"spec.containers[{m.name}].secrets"
        )
    cap = store.capsules.create_capsule(cap, limits=store.quotas.quota(caller.project_id))
    cluster.submit(cap.uuid, kind="capsule")
    return JSONResponse(
        capsule_view(cap, version, _base(request), admin=caller.is_admin),
        status_code=202,
        headers={"Location": f"{_base(request)}/v1/capsules/{cap.uuid}"},
    )


@router.get("")
@router.get("/", include_in_schema=False)
def list_capsules(
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    all_projects: str = "false",
    limit: int | None = None,
    marker: str | None = None,
) -> dict:
    scope = project_scope(
        request, as_bool(all_projects, "all_projects"), "capsule:get_all_all_projects"
    )
    page = min(limit or 1000, 1000)
    caps = request.app.state.store.capsules.list_capsules(
        project_id=scope, limit=page, marker=marker
    )
    next_link = (
        f"{_base(request)}/v1/capsules?limit={limit}&marker={caps[-1].uuid}"
        if limit and len(caps) == page
        else None
    )
    return {
        "capsules": [capsule_view(c, version, _base(request), admin=caller.is_admin) for c in caps],
        "next": next_link,
    }


@router.get("/{ident}")
def show(ident: str, request: Request, caller: CallerDep, version: VersionDep) -> dict:
    cap = request.app.state.store.capsules.get_capsule(ident, project_id=caller.project_id)
    return capsule_view(cap, version, _base(request), admin=caller.is_admin)


@router.delete("/{ident}", status_code=204)
async def delete(
    ident: str,
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    all_projects: str = "false",
) -> Response:
    scope = project_scope(
        request, as_bool(all_projects, "all_projects"), "capsule:get_all_all_projects"
    )
    store = request.app.state.store
    cap = store.capsules.get_capsule(ident, project_id=scope)
    cluster = request.app.state.cluster
    if cap.host:
        await cluster.call(
            cluster.node(cap.host).delete_capsule.remote(cap.uuid),
            timeout_s=request.app.state.settings.node_call_timeout_s,
        )
    else:
        store.capsules.delete_capsule(cap.uuid)
        cluster.placement.finished.remote(cap.uuid, "capsule")
    return Response(status_code=204)
