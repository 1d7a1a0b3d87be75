"""What the container routes share: finding a container for the caller, its view, and calling
its node (``act``: state check, the node call, the action log Zun keeps)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from gateway.context import project_scope
from gateway.zun.microversion import Version
from gateway.zun.views import as_bool, container_view
from actors.node_containers import DEFAULT_STOP_TIMEOUT_S
from runner.containers import Container, check_action
from runner.errors import Conflict, ZunrayError
from runner.store import Store

#: actions Zun writes to a container's action log (compute/api.py)
LOGGED = frozenset(
    {"create", "delete", "reboot", "rebuild", "stop", "start", "pause", "unpause", "kill", "commit"}
)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def scope(request: Request, caller, all_projects: Any) -> str | None:  # noqa: ANN001
    return project_scope(
        request, as_bool(all_projects or False, "all_projects"), "container:get_all_all_projects"
    )


def get(request: Request, caller, ident: str, all_projects: Any = False) -> Container:  # noqa: ANN001
    return request.app.state.store.containers.get_container(
        ident, project_id=scope(request, caller, all_projects)
    )


def view(request: Request, caller, c: Container, version: Version) -> dict:  # noqa: ANN001
    return container_view(c, version, base_url(request), admin=caller.is_admin)


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


async def act(
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
