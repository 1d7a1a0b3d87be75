"""Changing a container's cpu and memory: Zun's ``resize_container`` (1.19+) and the cpu/memory
of ``PATCH /v1/containers/{id}``, one path for both.

The store takes the new values first, with the project's quota re-checked in the same
transaction (``ContainerQueries.resize_container``: the rule admission uses, 403 over it; 409 in
a state Zun refuses); then the node changes the live limits (``docker update``); if the engine
refuses, the old values come back. Placement's claim on the host follows.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from gateway.caps import json_body
from gateway.context import CallerDep
from gateway.zun import container_calls as calls
from gateway.zun.microversion import VersionDep, api_version, require
from gateway.zun.views import cpu, memory_mb
from runner.containers import Container
from runner.errors import InvalidSpec, ZunrayError
from runner.store import Store

router = APIRouter(
    prefix="/v1/containers", tags=["zun containers"], dependencies=[Depends(api_version)]
)


async def resize(
    request: Request, caller, c: Container, *, cpu: float | None, memory_mb: int | None
) -> Container:  # noqa: ANN001
    """Give ``c`` these cpu and memory (None: kept), live if it exists in Docker; the new record."""
    store: Store = request.app.state.store
    if cpu is not None and c.capsule.cpu_policy == "dedicated" and cpu != c.resources.cpu:
        raise InvalidSpec("a container with dedicated cpus keeps its number of cpus", field="cpu")
    before, after = store.containers.resize_container(
        c.uuid, cpu=cpu, memory_mb=memory_mb, limits=store.quotas.quota(c.project_id)
    )
    if before.container_id:  # not created yet: the new limits apply at creation
        params = {"cpu": cpu, "memory_mb": memory_mb}
        try:
            await calls.act(request, caller, before, "update", params, check="resize_container")
        except ZunrayError:
            store.containers.update_container(
                c.uuid, capsule=before.capsule
            )  # as the engine has it
            raise
    if after.host:
        request.app.state.cluster.placement.resized.remote(c.uuid)
    return after


def _params(body: Any, query: dict[str, str]) -> dict[str, Any]:
    """cpu and memory from the JSON body or the query (Zun reads both), nothing else."""
    if not isinstance(body, dict):
        raise InvalidSpec("the body must be a JSON object", field="body")
    params = {**body, **query}
    if extra := sorted(set(params) - {"cpu", "memory"}):
        raise InvalidSpec(
            f"resize_container takes cpu and memory, not {extra[0][:64]}", field=extra[0][:64]
        )
    if not params or all(v in (None, "") for v in params.values()):
        raise InvalidSpec("resize_container needs cpu or memory", field="cpu")
    return params


@router.post("/{ident}/resize_container", status_code=202)
async def resize_container(
    ident: str, request: Request, caller: CallerDep, version: VersionDep
) -> JSONResponse:
    require(version, since="1.19")
    params = _params(await json_body(request, empty={}), dict(request.query_params))
    c = calls.get(request, caller, ident)
    new = await resize(
        request,
        caller,
        c,
        cpu=cpu(params["cpu"]) if params.get("cpu") not in (None, "") else None,
        memory_mb=memory_mb(params["memory"]) if params.get("memory") not in (None, "") else None,
    )
    return JSONResponse(calls.view(request, caller, new, version), status_code=202)
