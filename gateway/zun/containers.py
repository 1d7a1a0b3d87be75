"""Zun's /v1/containers: create/run, list, show, update and delete.

Each container is a capsule of one placed by the placement actor and run by
the node actor of its host, like a job. The state rules are Zun's
(``runner.containers.VALID_STATES``); a change in a wrong state is 409. The
actions on a container are in ``container_actions.py``; both use ``container_calls.py``.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from gateway.caps import INLINE_PARSE_BYTES, json_body
from runner.secret_refs import check_refs_exist
from runner.caps import SHORT_CHARS
from gateway.context import CallerDep, enforce
from gateway.images import check_images, check_pull_policies
from gateway.zun import container_calls as calls
from gateway.zun import openapi
from gateway.zun.create import check_name, container_from_body
from gateway.zun.microversion import VersionDep, api_version, check_param
from gateway.zun.resize import resize
from gateway.zun.views import as_bool, container_view, cpu, memory_mb
from policies.access import allowed
from runner.containers import check_action
from runner.errors import InvalidSpec
from runner.mounts import HOST_MOUNTS_RULE
from runner.store import Store

router = APIRouter(
    prefix="/v1/containers", tags=["zun containers"], dependencies=[Depends(api_version)]
)

SORT_KEYS = ("created_at", "name", "status", "uuid", "updated_at", "host")


@router.post("", status_code=202, openapi_extra=openapi.body(openapi.CONTAINER_CREATE))
@router.post("/", status_code=202, include_in_schema=False)
async def create(
    request: Request, caller: CallerDep, version: VersionDep, run: str = "false"
) -> JSONResponse:
    raw = await request.body()
    cluster = request.app.state.cluster
    network = "project" if request.app.state.settings.project_networks else None
    may_mount_host = allowed(request.app.state.rules, HOST_MOUNTS_RULE, caller.roles)
    parse = functools.partial(
        container_from_body,
        raw,
        caller=caller,
        version=version,
        run=as_bool(run, "run"),
        may_mount_host=may_mount_host,
        network=network,
    )
    c = (
        await asyncio.to_thread(parse) if len(raw) > INLINE_PARSE_BYTES else parse()
    )  # megabytes of JSON: not on the event loop
    cluster.admit(c.demand().memory_mb, runtime=c.capsule.runtime, field="memory")
    runtime_requested = c.spec.pop("runtime_requested")
    for rule, asked in (
        ("container:create:privileged", c.spec.get("privileged")),
        ("container:create:requested_destination", c.spec.get("host")),
        ("container:create:runtime", runtime_requested),
    ):
        if asked:
            enforce(request, rule)
    check_pull_policies(
        request, "container:create:image_pull_policy", [c.capsule.containers[0].pull_policy]
    )
    cluster.require_host(c.spec.get("host"))
    cluster.require_zone(c.capsule.availability_zone, field="availability_zone")
    store: Store = request.app.state.store
    image = c.image
    if registry := c.spec.pop("registry", None):
        reg = store.registries.get_registry(str(registry), project_id=caller.project_id)
        c.spec["registry_id"] = reg["uuid"]
        image = (
            image if image.startswith(reg["domain"] + "/") else f"{reg['domain']}/{image}"
        )  # as the node will pull it
    check_images(request, [("image", image)])
    check_refs_exist(store, caller.project_id, list(c.capsule.containers[0].secrets))
    c = store.containers.create_container(c, limits=store.quotas.quota(caller.project_id))
    store.containers.start_action(
        c.uuid,
        "create",
        request_id=request.state.request_id,
        user_id=caller.user_id,
        project_id=caller.project_id,
    )
    store.containers.finish_action(c.uuid, request.state.request_id)
    cluster.submit(c.uuid, kind="container")
    return JSONResponse(
        calls.view(request, caller, c, version),
        status_code=202,
        headers={"Location": f"{calls.base_url(request)}/v1/containers/{c.uuid}"},
    )


@router.get("")
@router.get("/", include_in_schema=False)
def list_containers(
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    limit: int | None = None,
    marker: str | None = None,
    sort_key: str = "created_at",
    sort_dir: str = "asc",
    all_projects: str = "false",
    name: str | None = None,
    image: str | None = None,
    status: str | None = None,
    host: str | None = None,
) -> dict:
    if sort_key not in SORT_KEYS:
        raise InvalidSpec(f"sort_key must be one of {', '.join(SORT_KEYS)}", field="sort_key")
    if sort_dir not in ("asc", "desc"):
        raise InvalidSpec("sort_dir must be asc or desc", field="sort_dir")
    if limit is not None and limit < 1:
        raise InvalidSpec("limit must be positive", field="limit")
    page = min(limit or 1000, 1000)
    store: Store = request.app.state.store
    found = store.containers.list_containers(
        project_id=calls.scope(request, caller, all_projects),
        limit=page,
        marker=marker,
        sort_key=sort_key,
        sort_dir=sort_dir,
        host=host,
    )
    found = [
        c
        for c in found
        if (name is None or c.name == name)
        and (image is None or c.image == image)
        and (status is None or c.status.value == status)
    ]
    next_link = None
    if limit is not None and len(found) == page:
        next_link = f"{calls.base_url(request)}/v1/containers?limit={limit}&marker={found[-1].uuid}&sort_key={sort_key}&sort_dir={sort_dir}"
    return {
        "containers": [container_view(c, version, None, admin=caller.is_admin) for c in found],
        "next": next_link,
    }


@router.get("/{ident}")
def show(
    ident: str,
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    all_projects: str = "false",
) -> dict:
    return calls.view(request, caller, calls.get(request, caller, ident, all_projects), version)


@router.patch("/{ident}", openapi_extra=openapi.body(openapi.CONTAINER_UPDATE))
async def update(ident: str, request: Request, caller: CallerDep, version: VersionDep) -> dict:
    patch = await json_body(request)
    if (
        not isinstance(patch, dict)
        or not patch
        or set(patch) - {"cpu", "memory", "name", "auto_heal"}
    ):
        unknown = (
            sorted(set(patch) - {"cpu", "memory", "name", "auto_heal"})
            if isinstance(patch, dict)
            else []
        )
        raise InvalidSpec(
            "update takes cpu, memory, name and auto_heal",
            field=unknown[0][:SHORT_CHARS] if unknown else None,
        )
    if "name" in patch:
        check_name(patch["name"])
    c = calls.get(request, caller, ident)
    check_action(c.uuid, c.status, "update")
    store: Store = request.app.state.store
    new_cpu = cpu(patch["cpu"]) if "cpu" in patch else None
    new_mem = memory_mb(patch["memory"]) if "memory" in patch else None
    if new_cpu is not None or new_mem is not None:
        c = await resize(request, caller, c, cpu=new_cpu, memory_mb=new_mem)
    fields: dict[str, Any] = {}
    if "name" in patch:
        fields["name"] = patch["name"]
    if "auto_heal" in patch:
        fields["spec"] = {**c.spec, "auto_heal": as_bool(patch["auto_heal"], "auto_heal")}
    if fields:
        store.containers.update_container(c.uuid, **fields)
    return calls.view(request, caller, store.containers.get_container(c.uuid), version)


@router.delete("/{ident}", status_code=204)
async def delete(
    ident: str,
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    force: str = "false",
    stop: str = "false",
    all_projects: str = "false",
) -> Response:
    c = calls.get(request, caller, ident, all_projects)
    force_b, stop_b = as_bool(force, "force"), as_bool(stop, "stop")
    if force_b:
        check_param(version, "force", "1.7")
        enforce(request, "container:delete_force")
    if stop_b:
        check_param(version, "stop", "1.12")
    check = "delete_force" if force_b else "delete_after_stop" if stop_b else "delete"
    check_action(c.uuid, c.status, check)
    store: Store = request.app.state.store
    if not c.host:  # still waiting for a host: nothing runs yet
        store.containers.delete_container(c.uuid)
        request.app.state.cluster.placement.finished.remote(c.uuid, "container")
    else:
        await calls.act(
            request, caller, c, "delete", {"force": force_b, "stop": stop_b}, check=check
        )
    return Response(status_code=204)
