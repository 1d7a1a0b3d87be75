"""Errors to HTTP, in one table, with one body shape (Zun's).

Body: ``{"errors": [{"request_id", "code", "status", "title", "detail", "links"}]}``.
``code`` is ``<domain>.<name>``: ``zunray.`` on Zunray's own routes (jobs,
health), ``container.`` on the Zun API, with the names Zun gives its
exceptions (``container.invalid-state-exception``, ``container.container-not-found``).
``title`` and ``detail`` both carry the message, as in Zun (zunclient shows
``title``). Routes raise ``runner.errors`` classes; nothing else becomes an
HTTP error.

Invalid input is 400 everywhere, as in OpenStack, including what FastAPI's own
request validation refuses (it would say 422); ``/openapi.json`` says 400 too.
Every 429 and 503 carries ``Retry-After`` (whole seconds, at least 1).
"""

from __future__ import annotations

import math
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.zun.microversion import VersionNotAcceptable
from runner import errors as e
from runner.containers import InvalidState

ZUNRAY_PATHS = (
    "/v1/jobs",
    "/v1/schedules",
    "/v1/functions",
    "/v1/invocations",
    "/v1/cluster",
    "/v1/usage",
    "/metrics",
    "/dashboard",
    "/healthz",
    "/docs",
    "/openapi.json",
    "/redoc",
)

#: error class -> HTTP status; the first matching base class wins
STATUS: list[tuple[type[e.ZunrayError], int]] = [
    (VersionNotAcceptable, 406),
    (e.TooLarge, 413),
    (e.InvalidSpec, 400),
    (e.Unauthorized, 401),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.Unavailable, 503),
    (e.Throttled, 429),
    (e.ImageUnavailable, 400),
    (e.FunctionFailed, 502),
    (e.FunctionTimedOut, 504),
    (e.RuntimeFailure, 500),
    (e.ZunrayError, 500),
]


#: the names Zun's own exceptions have, for the Zun routes
ZUN_CODES: list[tuple[type[e.ZunrayError], str]] = [
    (VersionNotAcceptable, ""),
    (InvalidState, "invalid-state-exception"),
    (e.OverQuota, "over-quota"),
    (e.Forbidden, "policy-not-authorized"),
    (e.NotFound, "container-not-found"),
    (e.InvalidSpec, "invalid-value"),
    (e.Conflict, "conflict"),
]


def code_of(path: str, exc: e.ZunrayError) -> str:
    if domain(path) == "container":
        for cls, name in ZUN_CODES:
            if isinstance(exc, cls):
                return name
    return _kebab(type(exc).__name__)


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def domain(path: str) -> str:
    """``zunray`` for Zunray's own routes, ``container`` for the Zun API (as Zun names them)."""
    return "zunray" if path.startswith(ZUNRAY_PATHS) else "container"


def error_body(request: Request, status: int, code: str, title: str, detail: str) -> dict:
    return {
        "errors": [
            {
                "request_id": getattr(request.state, "request_id", ""),
                "code": f"{domain(request.url.path)}.{code}",
                "status": status,
                "title": title,
                "detail": detail,
                "links": [],
            }
        ]
    }


def status_of(exc: e.ZunrayError) -> int:
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def retry_headers(exc: e.ZunrayError) -> dict[str, str]:
    """``Retry-After`` for the errors a client should try again after (429, 503)."""
    if isinstance(exc, (e.Throttled, e.Unavailable)):
        return {"Retry-After": retry_after(exc.retry_after_s)}
    return {}


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


INVALID_INPUT = {
    "description": "Invalid input (Zun's error body; ``detail`` names the field)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ZunError"}}},
}
ZUN_ERROR_SCHEMA = {
    "title": "ZunError",
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    k: {"type": "string"} for k in ("request_id", "code", "title", "detail")
                }
                | {"status": {"type": "integer"}, "links": {"type": "array"}},
            },
        }
    },
}


def invalid_input_is_400(schema: dict) -> dict:
    """FastAPI documents a 422 on every route with parameters; this API answers 400 (in place)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", INVALID_INPUT)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components["ZunError"] = ZUN_ERROR_SCHEMA
    return schema


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = invalid_input_is_400(generate())
        return app.openapi_schema

    app.openapi = openapi

    @app.exception_handler(e.ZunrayError)
    async def _zunray(request: Request, exc: e.ZunrayError) -> JSONResponse:
        status = status_of(exc)
        detail = (
            exc.message
            if not exc.field or exc.field in exc.message
            else f"{exc.field}: {exc.message}"
        )
        body = error_body(request, status, code_of(request.url.path, exc), detail, detail)
        if isinstance(exc, e.FunctionFailed) and exc.error:
            body["errors"][0]["function_error"] = (
                exc.error
            )  # the handler's type, message, traceback, stderr tail
        return JSONResponse(body, status_code=status, headers=retry_headers(exc))

    @app.exception_handler(ValidationError)  # a model validated inside a route (a merged PATCH)
    @app.exception_handler(RequestValidationError)
    async def _invalid(
        request: Request, exc: RequestValidationError | ValidationError
    ) -> JSONResponse:
        problems = []
        for err in exc.errors():
            loc = [
                str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")
            ]
            problems.append(f"{'.'.join(loc) or 'body'}: {err.get('msg')}")
        detail = "; ".join(problems)
        code = "invalid-spec" if domain(request.url.path) == "zunray" else "invalid-value"
        return JSONResponse(error_body(request, 400, code, detail, detail), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return JSONResponse(
            error_body(
                request,
                exc.status_code,
                _kebab(title.replace(" ", "")) if domain(request.url.path) == "zunray" else "",
                title,
                str(exc.detail),
            ),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
