"""The function API: create, list, show, change, delete, invoke; invocations."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from gateway.cluster import Cluster
from gateway.context import CallerDep, StoreDep, enforce
from gateway.images import check_images, check_pull_policies
from gateway.paging import DEFAULT_LIMIT, Limit, Marker, next_link
from gateway.function_schemas import (
    MAX_TIMEOUT_S,
    FunctionFields,
    FunctionIn,
    FunctionResourcesIn,
    function_out,
)
from runner.errors import InvalidSpec, TooLarge, ZunrayError
from runner.fair_share import caps_of
from runner.functions.model import Function, FunctionSpec
from runner.models import PullPolicy, Resources
from runner.schemas import invocation_out
from runner.secret_refs import check_refs_exist, to_refs, with_registry
from runner.settings import Settings
from runner.store import Store

router = APIRouter(tags=["functions"])

STATS_TIMEOUT_S = 2.0


def _cluster(request: Request) -> Cluster:
    return request.app.state.cluster


def _spec(body: FunctionFields, settings: Settings) -> FunctionSpec:
    if body.max_instances > settings.function_max_instances_limit:
        raise InvalidSpec(
            f"at most {settings.function_max_instances_limit} (function_max_instances_limit)",
            field="max_instances",
        )
    if body.code is not None and len(body.code.encode()) > settings.function_code_max_bytes:
        raise TooLarge(
            f"{len(body.code.encode())} bytes, over the limit of {settings.function_code_max_bytes}",
            field="code",
        )
    r = body.resources
    return FunctionSpec(
        image=body.image,
        handler=body.handler,
        code=body.code,
        command=tuple(body.command),
        runtime=body.runtime,
        resources=Resources(cpu=r.cpu, memory_mb=r.memory_mb, disk_gb=r.disk_gb, pids=r.pids),
        env=dict(body.env),
        timeout_s=body.timeout_s,
        concurrency=body.concurrency,
        min_instances=body.min_instances,
        max_instances=body.max_instances,
        idle_ttl_s=body.idle_ttl_s,
        pull_policy=PullPolicy(body.image_pull_policy),
        secrets=to_refs(body.secrets),
    )


def _fields_of(spec: FunctionSpec) -> dict:
    """A stored spec in the request's shape, to apply a PATCH on."""
    d = spec.to_dict()
    d["command"] = list(d["command"])
    d["resources"] = {
        k: v for k, v in d["resources"].items() if k in FunctionResourcesIn.model_fields
    }
    d["image_pull_policy"] = PullPolicy(d.pop("pull_policy")).value
    d["registry"] = d.pop("registry_id")  # its id names it as well as its name
    return d


def _with_registry(
    spec: FunctionSpec, body: FunctionFields, store: Store, project_id: str
) -> FunctionSpec:
    """The spec pulling through ``body.registry`` (resolved in the caller's project), if any."""
    fields = with_registry(store, project_id, {"image": spec.image, "registry": body.registry})
    return replace(spec, image=fields["image"], registry_id=fields.get("registry_id"))


@router.post("/v1/functions", status_code=201, summary="Create a function")
def create(body: FunctionIn, request: Request, store: StoreDep, caller: CallerDep) -> JSONResponse:
    if "runtime" in body.model_fields_set:
        enforce(request, "function:create:runtime")
    check_pull_policies(request, "function:create:image_pull_policy", [body.image_pull_policy])
    check_images(request, [("image", body.image)])
    cluster = _cluster(request)
    cluster.admit(body.resources.memory_mb, runtime=body.runtime, field="resources.memory_mb")
    spec = _with_registry(_spec(body, request.app.state.settings), body, store, caller.project_id)
    if spec.registry_id:
        check_images(request, [("registry", spec.image)])  # the image under the registry's domain
    check_refs_exist(store, caller.project_id, body.secrets)
    fn = store.functions.create_function(
        Function(str(uuid.uuid4()), body.name, caller.project_id, caller.user_id, 1, spec)
    )
    cluster.functions.function_changed.remote(fn.uuid)  # min_instances start warming now
    return JSONResponse(
        function_out(fn), status_code=201, headers={"Location": f"/v1/functions/{fn.name}"}
    )


@router.get("/v1/functions", summary="List the project's functions, by name")
def list_functions(
    store: StoreDep, caller: CallerDep, limit: Limit = DEFAULT_LIMIT, marker: Marker = None
) -> dict:
    fns = store.functions.list_functions(project_id=caller.project_id, limit=limit, marker=marker)
    return {
        "functions": [function_out(f) for f in fns],
        "next": next_link("/v1/functions", [f.uuid for f in fns], limit),
    }


@router.get("/v1/functions/{name}", summary="Show a function with its live counters")
async def show(name: str, request: Request, store: StoreDep, caller: CallerDep) -> dict:
    fn = store.functions.get_function(name, project_id=caller.project_id)
    cluster = _cluster(request)
    try:
        stats = await cluster.call(
            cluster.functions.stats.remote(fn.uuid), timeout_s=STATS_TIMEOUT_S
        )
    except ZunrayError as exc:
        stats = {"error": exc.message}
    return function_out(fn, stats)


@router.patch("/v1/functions/{name}", summary="Change a function (a new version)")
def patch(name: str, body: dict, request: Request, store: StoreDep, caller: CallerDep) -> dict:
    """Fields not sent keep their values; instances of the old version are drained."""
    fn = store.functions.get_function(name, project_id=caller.project_id)
    if "name" in body:
        raise InvalidSpec("a function cannot be renamed", field="name")
    if "runtime" in body:
        enforce(request, "function:create:runtime")
    merged = FunctionFields.model_validate({**_fields_of(fn.spec), **body})
    if (
        "image_pull_policy" in body
    ):  # a policy an admin set stays when a member changes other fields
        check_pull_policies(
            request, "function:create:image_pull_policy", [merged.image_pull_policy]
        )
    if "image" in body:
        check_images(request, [("image", merged.image)])
    if "secrets" in body:
        check_refs_exist(store, caller.project_id, merged.secrets)
    fn = store.functions.update_function(
        fn.uuid,
        _with_registry(_spec(merged, request.app.state.settings), merged, store, caller.project_id),
        version=fn.version,
    )
    _cluster(request).functions.function_changed.remote(fn.uuid)
    return function_out(fn)


@router.delete(
    "/v1/functions/{name}", status_code=204, summary="Delete a function and drain its instances"
)
def delete(name: str, request: Request, store: StoreDep, caller: CallerDep) -> Response:
    fn = store.functions.get_function(name, project_id=caller.project_id)
    store.functions.delete_function(fn.uuid)
    _cluster(request).functions.function_changed.remote(fn.uuid)
    return Response(status_code=204)


@router.post(
    "/v1/functions/{name}/invoke", summary="Invoke a function (synchronously, or ?async=true)"
)
async def invoke(
    name: str,
    request: Request,
    store: StoreDep,
    caller: CallerDep,
    run_async: Annotated[bool, Query(alias="async")] = False,
) -> Response:
    """The request body is the payload (JSON for the shim's ``event``, or any bytes).

    Synchronous: the handler's result is the response body. Its own error is a
    502 with ``function_error`` (type, message, traceback, stderr tail); no
    answer within the function's timeout is a 504.
    """
    settings: Settings = request.app.state.settings
    payload = await request.body()
    if len(payload) > settings.function_payload_max_bytes:
        raise TooLarge(
            f"the payload is {len(payload)} bytes, over the limit of {settings.function_payload_max_bytes}"
        )
    cluster = _cluster(request)
    if run_async:
        fn = store.functions.get_function(name, project_id=caller.project_id)
        inv = store.functions.create_invocation(
            {
                "uuid": str(uuid.uuid4()),
                "function_uuid": fn.uuid,
                "function_name": fn.name,
                "project_id": caller.project_id,
                "user_id": caller.user_id,
                "payload": payload,
            },
            max_queued=caps_of(store, settings, caller.project_id)["async_invocations"],
        )
        cluster.functions.submit_async.remote(inv["uuid"])  # fire and forget: the store has it
        return JSONResponse(
            invocation_out(inv),
            status_code=202,
            headers={"Location": f"/v1/invocations/{inv['uuid']}"},
        )
    # the function actor resolves the name (and answers 404): no store read here on the warm path
    ref = cluster.functions.invoke_named.remote(
        caller.project_id, name, payload, {"invocation_id": str(uuid.uuid4())}
    )
    reply = await cluster.call(ref, timeout_s=_call_budget(settings))
    media = "application/json" if reply.kind == "json" else "application/octet-stream"
    return Response(content=reply.body, media_type=media)


def _call_budget(settings: Settings) -> float:
    """How long the gateway waits: a cold start, a queue wait and the call itself (the actor ends it sooner)."""
    return settings.function_start_timeout_s + 2 * MAX_TIMEOUT_S + 5


@router.get("/v1/invocations/{inv_id}", summary="Status and result of an asynchronous invocation")
def show_invocation(inv_id: str, store: StoreDep, caller: CallerDep) -> dict:
    return invocation_out(store.functions.get_invocation(inv_id, project_id=caller.project_id))
