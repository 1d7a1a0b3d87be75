"""One access-log line per request (logger ``zunray.access``, INFO).

Fields, as ``key=value`` in the message and as record attributes (for a JSON
formatter): request_id, project (``-`` before authentication), method, route
(the template, ``/v1/jobs/{job_id}``, so ids do not spread into log keys; the
path itself when no route matched), status, duration_ms and trace_id (the
request's server span, when traced). Pure ASGI middleware: Starlette's
BaseHTTPMiddleware costs about a millisecond per request.
"""

from __future__ import annotations

import logging
import time

from opentelemetry import trace

from gateway.tracing import route_or_path

log = logging.getLogger("zunray.access")


class AccessLog:
    """Sits inside ``RequestId`` (which sets the id) and outside ``Authenticate`` (whose caller it reads afterwards)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500  # an exception that escapes before a response starts becomes a 500 further out

        async def send_seen(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            _emit(scope, status, (time.perf_counter() - start) * 1000)


def _emit(scope: dict, status: int, duration_ms: float) -> None:
    state = scope.get("state", {})
    caller = state.get("caller")
    span = trace.get_current_span().get_span_context()
    fields = {
        "request_id": state.get("request_id", "-"),
        "project": getattr(caller, "project_id", None) or "-",
        "method": scope["method"],
        "route": route_or_path(scope),
        "status": status,
        "duration_ms": round(duration_ms, 2),
        "trace_id": f"{span.trace_id:032x}" if span.is_valid else "-",
    }
    log.info(" ".join(f"{k}={v}" for k, v in fields.items()), extra=fields)
