"""Interactive shells, as Zun serves them: ``execute?interactive=true&run=false`` answers
``{"exec_id", "proxy_url", ...}`` and ``GET .../attach`` the websocket URL as a JSON string;
``execute_resize`` and ``resize`` set the TTY's size. Every Zun version (1.1+) has them.

The URL points at this gateway's ``/v1/shell`` websocket, with a one-time token (valid
``shell_token_ttl_s``), the container's uuid and the exec id, as Zun's websocket proxy takes
them: zunclient's websocket sends no ``X-Auth-Token``, so the token, issued to a caller the
route already authenticated and scoped to the container's project (an admin reaches any),
is the credential. The node actor of the container's host keeps the token and the Docker
stream (``actors/node_shells.py``): this gateway relays bytes both ways through Ray calls,
so it may run on any host. The node bounds the sessions per project and per host, their idle
and total time; the gateway refuses messages over ``shell_frame_max_bytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from actors.node_shells import SHELL_ENDED
from gateway import noauth
from gateway.context import CallerDep, enforce
from gateway.zun import container_calls as calls
from gateway.zun.microversion import VersionDep, api_version
from runner.caps import SHORT_CHARS
from runner.containers import Container, check_action
from runner.errors import Conflict, InvalidSpec, NotFound, Unauthorized, ZunrayError

router = APIRouter(
    prefix="/v1/containers", tags=["zun containers"], dependencies=[Depends(api_version)]
)
ws_router = APIRouter()

SHELL_PATH = "/v1/shell"
READ_WAIT_S = 5.0  # one long-poll read of the node; output comes back as soon as there is some
TTY_MAX = 10_000  # rows or columns
CLOSE_POLICY, CLOSE_TOO_BIG = 1008, 1009  # websocket close codes (RFC 6455)


def _shell_url(request: Request, query: dict[str, str]) -> str:
    base = urlsplit(str(request.base_url))
    scheme = "wss" if base.scheme == "https" else "ws"
    return f"{scheme}://{base.netloc}{SHELL_PATH}?{urlencode(query)}"


async def _on_node(request: Request, c: Container, action: str, params: dict, check: str) -> dict:
    check_action(c.uuid, c.status, check)
    if not c.host:
        raise Conflict(f"Container {c.uuid} is not on a host yet ({c.status.value})")
    cluster = request.app.state.cluster
    return await cluster.call(
        cluster.node(c.host).shell_action.remote(c.uuid, action, params),
        timeout_s=request.app.state.settings.node_call_timeout_s,
    )


async def start_exec(request: Request, caller, c: Container, argv: list[str]) -> dict:  # noqa: ANN001
    """An exec with a TTY, started when its websocket connects (``execute``'s ``run=false``)."""
    enforce(request, "container:execute:interactive")
    done = await _on_node(request, c, "exec", {"command": argv}, "execute")
    query = {"token": done["token"], "uuid": c.uuid, "exec_id": done["exec_id"]}
    return {
        "output": None,
        "exit_code": None,
        "exec_id": done["exec_id"],
        "proxy_url": _shell_url(request, query),
    }


@router.get("/{ident}/attach")
async def attach(
    ident: str, request: Request, caller: CallerDep, version: VersionDep
) -> JSONResponse:
    enforce(request, "container:attach")
    c = calls.get(request, caller, ident)
    if not c.spec.get("interactive"):
        raise InvalidSpec(
            "Container doesn't support to be attached, please check the interactive set properly"
        )
    done = await _on_node(request, c, "attach", {}, "attach")
    return JSONResponse(_shell_url(request, {"token": done["token"], "uuid": c.uuid}))


def _size(h: int, w: int) -> dict:
    if not (1 <= h <= TTY_MAX and 1 <= w <= TTY_MAX):
        raise InvalidSpec(f"h and w must be between 1 and {TTY_MAX}, got {h} and {w}")
    return {"height": h, "width": w}


@router.post("/{ident}/execute_resize")
async def execute_resize(
    ident: str,
    request: Request,
    caller: CallerDep,
    version: VersionDep,
    exec_id: str = Query(max_length=SHORT_CHARS),
    h: int = Query(),
    w: int = Query(),
) -> JSONResponse:
    enforce(request, "container:execute_resize")
    c = calls.get(request, caller, ident)
    params = {"exec_id": exec_id, **_size(h, w)}
    await _on_node(request, c, "execute_resize", params, "execute_resize")
    return JSONResponse(None)


@router.post("/{ident}/resize")
async def resize(
    ident: str, request: Request, caller: CallerDep, version: VersionDep, h: int, w: int
) -> JSONResponse:
    enforce(request, "container:resize")
    c = calls.get(request, caller, ident)
    await _on_node(request, c, "resize", _size(h, w), "resize")
    return JSONResponse(None)


def _refusal(ws: WebSocket) -> str | None:
    """Why this connection is refused before any token is looked at, or None."""
    settings = ws.app.state.settings
    host = ws.headers.get("host")
    if settings.auth_mode == "noauth" and not noauth.host_allowed(settings, host):
        return "this gateway answers only requests addressed to it by a loopback name or its own address"
    origin = ws.headers.get("origin")
    if origin is not None:  # a browser's page: only this gateway's own (zunclient sends its URL's)
        try:
            same = urlsplit(origin).hostname == urlsplit(f"//{host or ''}").hostname
        except ValueError:
            same = False
        if not same:
            return "the Origin header does not name this gateway"
    return None


@ws_router.websocket(SHELL_PATH)
async def shell(ws: WebSocket) -> None:
    """Relay a session's bytes between the client and the node actor, both ways, until either ends."""
    app, q = ws.app, ws.query_params
    why = _refusal(ws)
    if why is None:
        try:
            token, exec_id = q.get("token", ""), q.get("exec_id") or None
            if not token or len(token) > SHORT_CHARS or len(exec_id or "") > SHORT_CHARS:
                raise Unauthorized("no usable token")
            c = app.state.store.containers.get_container(
                q.get("uuid", "")[:SHORT_CHARS], project_id=None
            )
            node = app.state.cluster.node(c.host or "")
            sid = await app.state.cluster.call(
                node.shell_open.remote(c.uuid, token, exec_id),
                timeout_s=app.state.settings.node_call_timeout_s,
            )
        except (Unauthorized, NotFound):  # one answer: a wrong token says nothing of the container
            why = "the websocket token is invalid, used or expired: ask for a new URL"
        except ZunrayError as exc:
            why = exc.message
    if why is not None:
        await ws.close(code=CLOSE_POLICY, reason=why[:120])  # before accept: the client sees 403
        return
    offered = ws.scope.get("subprotocols") or []
    await ws.accept(subprotocol="binary" if "binary" in offered else None)
    try:
        code, why = await _relay(ws, node, sid)
    finally:
        node.shell_close.remote(sid)  # fire and forget: the node's reaper ends it anyway
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):  # the client may be gone
        if why:
            await ws.send_bytes(f"\r\n[zunray: {why}]\r\n".encode())
        await ws.close(code=code, reason=why[:120])


async def _relay(ws: WebSocket, node, sid: str) -> tuple[int, str]:  # noqa: ANN001
    """(close code, why it ended: "" for the shell's own end or the client's)."""
    cluster, settings = ws.app.state.cluster, ws.app.state.settings
    limit = settings.shell_frame_max_bytes

    async def to_container() -> tuple[int, str]:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return 1000, ""
            data = msg.get("bytes")
            if data is None:
                data = (msg.get("text") or "").encode()
            if len(data) > limit:
                return CLOSE_TOO_BIG, f"a message of {len(data)} bytes is over the limit of {limit}"
            if data:
                await cluster.call(
                    node.shell_write.remote(sid, data), timeout_s=settings.node_call_timeout_s
                )

    async def to_client() -> tuple[int, str]:
        while True:
            data, ended = await cluster.call(
                node.shell_read.remote(sid, READ_WAIT_S),
                timeout_s=READ_WAIT_S + settings.node_call_timeout_s,
            )
            if data:
                await ws.send_bytes(data)
            if ended:
                return 1000, "" if ended == SHELL_ENDED else ended

    tasks = [asyncio.create_task(to_container()), asyncio.create_task(to_client())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
    try:
        return done.pop().result()
    except ZunrayError as exc:  # the node lost the session (its write failed) or is unreachable
        return 1011, exc.message
    except (RuntimeError, OSError, WebSocketDisconnect):  # the client went away mid-send
        return 1000, ""
