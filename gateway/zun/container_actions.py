"""Zun's actions on a container: /v1/containers/{ident}/<action>.

Each runs on the node actor of the container's host (``container_calls.act``); an
action in a wrong state is 409. Most parameters arrive in the query string, as
zunclient sends them. Mutating actions are written to the container's action log
with the request id of the call. Registered after ``containers.py``'s routes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from gateway.caps import capped, json_body
from runner.caps import PATH_CHARS, SHORT_CHARS
from gateway.context import CallerDep
from gateway.images import check_images
from gateway.zun import container_calls as calls
from gateway.zun import openapi
from gateway.zun.commit import commit_target
from gateway.zun.create import check_image_ref, check_name
from gateway.zun.interactive import start_exec as interactive_exec
from gateway.zun.microversion import Version, VersionDep, api_version, require
from gateway.zun.views import action_view, as_bool, command_list
from policies.access import allowed
from runner.containers import check_action
from runner.errors import Conflict, Forbidden, InvalidSpec, NotFound, TooLarge

router = APIRouter(
    prefix="/v1/containers", tags=["zun containers"], dependencies=[Depends(api_version)]
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


def _simple(action: str, status_code: int = 202):  # noqa: ANN202
    async def handler(
        ident: str, request: Request, caller: CallerDep, version: VersionDep
    ) -> Response:
        await calls.act(request, caller, calls.get(request, caller, ident), action, {})
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
    await calls.act(request, caller, calls.get(request, caller, ident), "stop", params)
    return JSONResponse(None, status_code=202)


@router.post("/{ident}/reboot", status_code=202)
async def reboot(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, timeout: int = 10
) -> Response:
    params = {"timeout": _timeout_s(request, timeout)}
    await calls.act(request, caller, calls.get(request, caller, ident), "reboot", params)
    return JSONResponse(None, status_code=202)


@router.post("/{ident}/kill", status_code=202)
async def kill(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, signal: str | None = None
) -> Response:
    signal = (
        None if signal in (None, "", "None") else capped(signal, SHORT_CHARS, "signal")
    )  # zunclient sends "None" for no signal
    await calls.act(request, caller, calls.get(request, caller, ident), "kill", {"signal": signal})
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
    argv = command_list(command)
    if not argv:
        raise InvalidSpec("command is empty", field="command")
    if not as_bool(run, "run"):  # a session: zunclient's `exec --interactive` sends run=false
        if not as_bool(interactive, "interactive"):
            raise InvalidSpec("run=false needs interactive=true (a shell on a TTY)", field="run")
        return await interactive_exec(request, caller, calls.get(request, caller, ident), argv)
    as_bool(interactive, "interactive")  # run=true: the output, with or without a TTY
    result = await calls.act(
        request, caller, calls.get(request, caller, ident), "execute", {"command": argv}
    )
    return {**result, "exec_id": None, "proxy_url": None}


@router.post("/{ident}/rename")
async def rename(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, name: str
) -> dict:
    """Only up to 1.13; later versions rename with PATCH ``name``."""
    require(version, until="1.13")
    check_name(name)
    c = calls.get(request, caller, ident)
    if c.name == name:
        raise Conflict("The new name for the container is the same as the old name.")
    c = request.app.state.store.containers.update_container(c.uuid, name=name) or c
    return calls.view(request, caller, c, version)


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
    c = calls.get(request, caller, ident)
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
    await calls.act(request, caller, c, "rebuild", {})
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
    c = calls.get(request, caller, ident)
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
    return await calls.act(
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
    return JSONResponse(
        await calls.act(request, caller, calls.get(request, caller, ident), "logs", params)
    )


@router.get("/{ident}/top")
async def top(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, ps_args: str | None = None
) -> dict:
    if ps_args in ("", "None"):  # zunclient sends the string "None" when no args are given
        ps_args = None
    capped(ps_args or "", SHORT_CHARS, "ps_args")
    return await calls.act(
        request, caller, calls.get(request, caller, ident), "top", {"ps_args": ps_args}
    )


@router.get("/{ident}/stats")
async def stats(ident: str, request: Request, caller: CallerDep, version: VersionDep) -> dict:
    return await calls.act(request, caller, calls.get(request, caller, ident), "stats", {})


@router.get("/{ident}/get_archive")
async def get_archive(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, path: str
) -> dict:
    params = {"path": _path(path)}
    result = await calls.act(
        request, caller, calls.get(request, caller, ident), "get_archive", params
    )
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
    await calls.act(
        request,
        caller,
        calls.get(request, caller, ident),
        "put_archive",
        {"path": path, "data": raw},
    )
    return JSONResponse(None, status_code=200)


@router.get("/{ident}/network_list")
async def network_list(
    ident: str, request: Request, caller: CallerDep, version: VersionDep
) -> dict:
    require(version, since="1.13")
    return {
        "networks": await calls.act(
            request, caller, calls.get(request, caller, ident), "network_list", {}
        )
    }


@router.get("/{ident}/container_actions")
def list_actions(ident: str, request: Request, caller: CallerDep, version: VersionDep) -> dict:
    c = calls.get(request, caller, ident)
    return {
        "containerActions": [
            action_view(a) for a in request.app.state.store.containers.list_actions(c.uuid)
        ]
    }


@router.get("/{ident}/container_actions/{request_id}")
def show_action(
    ident: str, request_id: str, request: Request, caller: CallerDep, version: VersionDep
) -> dict:
    c = calls.get(request, caller, ident)
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
