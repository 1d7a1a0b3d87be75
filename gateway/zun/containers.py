"""Zun's /v1/containers: create/run, list, show, update, delete and the actions.

Each container is a capsule of one placed by the placement actor and run by
the node actor of its host, like a job. The state rules are Zun's
(``runner.containers.VALID_STATES``); an action in a wrong state is 409. Most
action parameters arrive in the query string, as zunclient sends them.
Mutating actions are written to the container's action log with the
request id of the call.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from gateway.caps import INLINE_PARSE_BYTES, capped, json_body
from runner.caps import PATH_CHARS, SHORT_CHARS
from gateway.context import CallerDep, enforce, project_scope
from gateway.images import check_images, check_pull_policies
from gateway.zun import openapi
from gateway.zun.commit import commit_target
from gateway.zun.create import check_image_ref, check_name, container_from_body
from gateway.zun.microversion import Version, VersionDep, api_version, check_param, require
from gateway.zun.views import action_view, as_bool, command_list, container_view, cpu, memory_mb
from actors.node_containers import DEFAULT_STOP_TIMEOUT_S
from policies.access import allowed
from runner.containers import Container, check_action
from runner.errors import Conflict, Forbidden, InvalidSpec, NotFound, TooLarge, ZunrayError
from runner.mounts import HOST_MOUNTS_RULE
from runner.store import Store

router = APIRouter(
    prefix="/v1/containers", tags=["zun containers"], dependencies=[Depends(api_version)]
)

#: actions Zun writes to a container's action log (compute/api.py)
LOGGED = frozenset(
    {"create", "delete", "reboot", "rebuild", "stop", "start", "pause", "unpause", "kill", "commit"}
)
SORT_KEYS = ("created_at", "name", "status", "uuid", "updated_at", "host")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _scope(request: Request, caller, all_projects: Any) -> str | None:  # noqa: ANN001
    return project_scope(
        request, as_bool(all_projects or False, "all_projects"), "container:get_all_all_projects"
    )


def _get(request: Request, caller, ident: str, all_projects: Any = False) -> Container:  # noqa: ANN001
    return request.app.state.store.containers.get_container(
        ident, project_id=_scope(request, caller, all_projects)
    )


def _timeout_s(request: Request, timeout: int) -> int:
    """A stop/reboot grace period: 0 .. max_stop_timeout_s (the node actor waits that long on the host)."""
    limit = request.app.state.settings.max_stop_timeout_s
    if not 0 <= timeout <= limit:
        raise InvalidSpec(
            f"timeout must be between 0 and {limit} seconds, got {timeout}", field="timeout"
        )
    return timeout


def _path(path: str) -> str:
    if not path or "\0" in path:
        raise InvalidSpec("path must name a path in the container", field="path")
    return capped(path, PATH_CHARS, "path")


def _view(request: Request, caller, c: Container, version: Version) -> dict:  # noqa: ANN001
    return container_view(c, version, _base(request), admin=caller.is_admin)


def _deadline_s(request: Request, action: str, params: dict[str, Any]) -> float:
    """How long the gateway waits for the node: the setting, plus the time a stop may take by itself."""
    stop_s = (
        params.get("timeout", 0)
        if action in ("stop", "reboot")
        else DEFAULT_STOP_TIMEOUT_S
        if params.get("stop")
        else 0
    )
    return request.app.state.settings.node_call_timeout_s + max(stop_s, 0)


async def _act(
    request: Request,
    caller,
    c: Container,
    action: str,
    params: dict[str, Any],
    *,
    check: str | None = None,
) -> Any:  # noqa: ANN001
    """Check the state, run ``action`` on the container's node, log it as Zun does."""
    log = action in LOGGED
    check_action(c.uuid, c.status, check or action)
    store: Store = request.app.state.store
    if not c.host:
        raise Conflict(f"Container {c.uuid} is not on a host yet ({c.status.value})")
    rid = request.state.request_id
    if log:
        store.containers.start_action(
            c.uuid, action, request_id=rid, user_id=caller.user_id, project_id=caller.project_id
        )
    cluster = request.app.state.cluster
    try:
        result = await cluster.call(
            cluster.node(c.host).container_action.remote(c.uuid, action, params),
            timeout_s=_deadline_s(request, action, params),
        )
    except ZunrayError:
        if log:
            store.containers.finish_action(c.uuid, rid, error="Error")
        raise
    if log:
        store.containers.finish_action(c.uuid, rid)
    return result


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
    store: Store = request.app.state.store
    image = c.image
    if registry := c.spec.pop("registry", None):
        reg = store.registries.get_registry(str(registry), project_id=caller.project_id)
        c.spec["registry_id"] = reg["uuid"]
        image = (
            image if image.startswith(reg["domain"] + "/") else f"{reg['domain']}/{image}"
        )  # as the node will pull it
    check_images(request, [("image", image)])
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
        _view(request, caller, c, version),
        status_code=202,
        headers={"Location": f"{_base(request)}/v1/containers/{c.uuid}"},
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
        project_id=_scope(request, caller, all_projects),
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
        next_link = f"{_base(request)}/v1/containers?limit={limit}&marker={found[-1].uuid}&sort_key={sort_key}&sort_dir={sort_dir}"
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
    return _view(request, caller, _get(request, caller, ident, all_projects), version)


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
    c = _get(request, caller, ident)
    check_action(c.uuid, c.status, "update")
    store: Store = request.app.state.store
    new_cpu = cpu(patch["cpu"]) if "cpu" in patch else None
    new_mem = memory_mb(patch["memory"]) if "memory" in patch else None
    if new_cpu is not None or new_mem is not None:
        res = c.capsule.containers[0].resources
        delta = {
            "cpu": (new_cpu - res.cpu) if new_cpu is not None else 0,
            "memory": (new_mem - res.memory_mb) if new_mem is not None else 0,
        }
        if delta["cpu"] > 0 or delta["memory"] > 0:
            store.quotas.check_quota(c.project_id, {k: max(v, 0) for k, v in delta.items()})
        if c.container_id:  # not created yet: the new limits apply at creation
            await _act(request, caller, c, "update", {"cpu": new_cpu, "memory_mb": new_mem})
        main = c.capsule.containers[0]
        res = main.resources
        new_res = replace(
            res,
            cpu=new_cpu if new_cpu is not None else res.cpu,
            memory_mb=new_mem if new_mem is not None else res.memory_mb,
        )
        capsule = replace(c.capsule, containers=(replace(main, resources=new_res),))
        store.containers.update_container(c.uuid, capsule=capsule)
    fields: dict[str, Any] = {}
    if "name" in patch:
        fields["name"] = patch["name"]
    if "auto_heal" in patch:
        fields["spec"] = {**c.spec, "auto_heal": as_bool(patch["auto_heal"], "auto_heal")}
    if fields:
        store.containers.update_container(c.uuid, **fields)
    return _view(request, caller, store.containers.get_container(c.uuid), version)


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
    c = _get(request, caller, ident, all_projects)
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
        await _act(request, caller, c, "delete", {"force": force_b, "stop": stop_b}, check=check)
    return Response(status_code=204)


def _simple(action: str, status_code: int = 202):  # noqa: ANN202
    async def handler(
        ident: str, request: Request, caller: CallerDep, version: VersionDep
    ) -> Response:
        await _act(request, caller, _get(request, caller, ident), action, {})
        return JSONResponse(None, status_code=status_code)

    handler.__name__ = action
    return handler


for _action in ("start", "pause", "unpause"):
    router.add_api_route(
        f"/{{ident}}/{_action}", _simple(_action), methods=["POST"], status_code=202
    )


@router.post("/{ident}/stop", status_code=202)
async def stop_container(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, timeout: int = 10
) -> Response:
    params = {"timeout": _timeout_s(request, timeout)}
    await _act(request, caller, _get(request, caller, ident), "stop", params)
    return JSONResponse(None, status_code=202)


@router.post("/{ident}/reboot", status_code=202)
async def reboot(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, timeout: int = 10
) -> Response:
    params = {"timeout": _timeout_s(request, timeout)}
    await _act(request, caller, _get(request, caller, ident), "reboot", params)
    return JSONResponse(None, status_code=202)


@router.post("/{ident}/kill", status_code=202)
async def kill(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, signal: str | None = None
) -> Response:
    signal = (
        None if signal in (None, "", "None") else capped(signal, SHORT_CHARS, "signal")
    )  # zunclient sends "None" for no signal
    await _act(request, caller, _get(request, caller, ident), "kill", {"signal": signal})
    return JSONResponse(None, status_code=202)


@router.post("/{ident}/execute")
async def execute(
    ident: str,
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    command: str,
    run: str = "true",
    interactive: str = "false",
) -> dict:
    if as_bool(interactive, "interactive"):
        raise InvalidSpec(
            "interactive exec sessions are not supported; use run=true", field="interactive"
        )
    if not as_bool(run, "run"):
        raise InvalidSpec("only run=true is supported", field="run")
    argv = command_list(command)
    if not argv:
        raise InvalidSpec("command is empty", field="command")
    result = await _act(request, caller, _get(request, caller, ident), "execute", {"command": argv})
    return {**result, "exec_id": None, "proxy_url": None}


@router.post("/{ident}/rename")
async def rename(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, name: str
) -> dict:
    """Only up to 1.13; later versions rename with PATCH ``name``."""
    require(version, until="1.13")
    check_name(name)
    c = _get(request, caller, ident)
    if c.name == name:
        raise Conflict("The new name for the container is the same as the old name.")
    c = request.app.state.store.containers.update_container(c.uuid, name=name) or c
    return _view(request, caller, c, version)


@router.post("/{ident}/rebuild", status_code=202)
async def rebuild(
    ident: str,
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    image: str | None = None,
    image_driver: str | None = None,
) -> Response:
    if image is not None:
        check_image_ref(image)
    c = _get(request, caller, ident)
    if image and image != c.image:
        check_images(request, [("image", image)])
        main = c.capsule.containers[0]
        check_action(c.uuid, c.status, "rebuild")
        c = (
            request.app.state.store.containers.update_container(
                c.uuid, capsule=replace(c.capsule, containers=(replace(main, image=image),))
            )
            or c
        )
    await _act(request, caller, c, "rebuild", {})
    return JSONResponse(None, status_code=202)


@router.post("/{ident}/commit", status_code=202)
async def commit(
    ident: str,
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    repository: str,
    tag: str | None = None,
) -> dict:
    """Into the project's own namespace; the node refuses to replace a tag the project did not commit."""
    capped(repository, SHORT_CHARS, "repository")
    capped(tag or "", SHORT_CHARS, "tag")
    c = _get(request, caller, ident)
    tag = None if tag in (None, "", "None") else tag  # zunclient sends "None" for no tag
    target = commit_target(
        repository,
        tag,
        project_id=caller.project_id,
        platform_images=request.app.state.settings.platform_images,
    )
    if not target.namespaced and not allowed(
        request.app.state.rules, "container:commit:any_repository", caller.roles
    ):
        raise Forbidden(
            f"Policy doesn't allow container:commit:any_repository to be performed: commit under {caller.project_id}/"
        )
    return await _act(
        request, caller, c, "commit", {"repository": target.repository, "tag": target.tag}
    )


@router.get("/{ident}/logs")
async def logs(
    ident: str,
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    stdout: str = "true",
    stderr: str = "true",
    timestamps: str = "false",
    tail: str = "all",
    since: int | None = None,
) -> JSONResponse:
    if tail != "all" and not (tail.isascii() and tail.isdigit() and len(tail) <= 9):
        raise InvalidSpec(
            f"tail must be 'all' or a number of lines, not {tail[:SHORT_CHARS]!r}", field="tail"
        )
    params = {
        "stdout": as_bool(stdout, "stdout"),
        "stderr": as_bool(stderr, "stderr"),
        "timestamps": as_bool(timestamps, "timestamps"),
        "tail": tail if tail == "all" else int(tail),
        "since": since,
    }
    return JSONResponse(await _act(request, caller, _get(request, caller, ident), "logs", params))


@router.get("/{ident}/top")
async def top(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, ps_args: str | None = None
) -> dict:
    if ps_args in ("", "None"):  # zunclient sends the string "None" when no args are given
        ps_args = None
    capped(ps_args or "", SHORT_CHARS, "ps_args")
    return await _act(request, caller, _get(request, caller, ident), "top", {"ps_args": ps_args})


@router.get("/{ident}/stats")
async def stats(ident: str, request: Request, caller: CallerDep, version: VersionDep) -> dict:
    return await _act(request, caller, _get(request, caller, ident), "stats", {})


@router.get("/{ident}/get_archive")
async def get_archive(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, path: str
) -> dict:
    params = {"path": _path(path)}
    result = await _act(request, caller, _get(request, caller, ident), "get_archive", params)
    if version < Version(1, 25):
        result["data"] = base64.b64decode(result["data"]).decode("latin-1")
    return result


@router.post("/{ident}/put_archive", openapi_extra=openapi.body(openapi.ARCHIVE))
async def put_archive(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, path: str
) -> Response:
    _path(path)
    body = await json_body(request)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, str):
        raise InvalidSpec("the body needs 'data'", field="data")
    try:
        raw = (
            base64.b64decode(data, validate=True)
            if version >= Version(1, 25)
            else data.encode("latin-1")
        )
    except (binascii.Error, ValueError):
        raise InvalidSpec("data is not valid base64", field="data") from None
    limit = request.app.state.settings.archive_max_bytes
    if len(raw) > limit:
        raise TooLarge(
            f"the archive is {len(raw)} bytes, larger than the limit of {limit} bytes (archive_max_bytes)",
            field="data",
        )
    await _act(
        request, caller, _get(request, caller, ident), "put_archive", {"path": path, "data": raw}
    )
    return JSONResponse(None, status_code=200)


@router.get("/{ident}/network_list")
async def network_list(
    ident: str, request: Request, caller: CallerDep, version: VersionDep
) -> dict:
    require(version, since="1.13")
    return {
        "networks": await _act(request, caller, _get(request, caller, ident), "network_list", {})
    }


@router.get("/{ident}/container_actions")
def list_actions(ident: str, request: Request, caller: CallerDep, version: VersionDep) -> dict:
    c = _get(request, caller, ident)
    return {
        "containerActions": [
            action_view(a) for a in request.app.state.store.containers.list_actions(c.uuid)
        ]
    }


@router.get("/{ident}/container_actions/{request_id}")
def show_action(
    ident: str, request_id: str, request: Request, caller: CallerDep, version: VersionDep
) -> dict:
    c = _get(request, caller, ident)
    for a in request.app.state.store.containers.list_actions(c.uuid):
        if a["request_id"] == request_id:
            view = action_view(a)
            event = {
                "event": f"compute__do_container_{a['action']}",
                "start_time": view["start_time"],
                "finish_time": view["finish_time"],
                "result": a["result"],
                "traceback": None,
            }
            return {**action_view(a), "events": [event]}
    raise NotFound(f"The Action resource {request_id} could not be found.")


@router.post("/{ident}/add_security_group", include_in_schema=False)
@router.post("/{ident}/remove_security_group", include_in_schema=False)
def security_groups(ident: str, version: VersionDep) -> None:
    """Security groups need Neutron; Zun dropped these actions after 1.14."""
    require(version, until="1.14")
    raise InvalidSpec("security groups are not supported: containers have no Neutron ports here")
