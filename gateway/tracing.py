"""The HTTP server span of each request (OpenTelemetry's ASGI instrumentation).

An incoming W3C ``traceparent`` makes the request's span, and so the job's
trace (``job.submit`` is its child), part of the caller's trace. The span is
named ``METHOD /route/{template}`` once the router has matched, from the route
it left in the scope: FastAPI's instrumentation instead matches every route a
second time before the request, 0.1 ms for ``POST /v1/jobs``, 0.4 ms for a
function invoke and 1.5 ms for an unmatched path (measured).
"""

from __future__ import annotations

from urllib.parse import quote

from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE
from opentelemetry.util.http import sanitize_method

UNTRACED_URLS = "://[^/]*/healthz$,://[^/]*/metrics$"  # polled by monitors: a trace each would drown the jobs' traces


def route_template(scope: dict) -> str | None:
    """The template of the route that served the request (``/v1/jobs/{job_id}``), if one matched."""
    return getattr(scope.get("route"), "path", None)


def route_or_path(scope: dict) -> str:
    # an unmatched path is the caller's text: quoted, so a newline or a space cannot forge a log line or field
    return route_template(scope) or quote(scope["path"], safe="/")


def _method_only(scope: dict) -> tuple[str, dict]:
    return sanitize_method(scope.get("method", "").strip()), {}


class NameSpan:
    """Names the server span after the matched route; sits directly inside OpenTelemetry's middleware, and names
    it when the response starts (the router has matched by then, and the span ends with the response's last byte)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        span = trace.get_current_span()
        if scope["type"] != "http" or not span.is_recording():
            return await self.app(scope, receive, send)

        async def send_naming(message: dict) -> None:
            if message["type"] == "http.response.start" and (route := route_template(scope)):
                span.update_name(f"{span.name} {route}")
                span.set_attribute(HTTP_ROUTE, route)
            await send(message)

        await self.app(scope, receive, send_naming)


def instrument(app) -> None:  # noqa: ANN001
    """Outermost of the middleware added so far (call it after the others). No per-message send/receive spans:
    two or more per request, for nothing an operator reads."""
    app.add_middleware(NameSpan)
    app.add_middleware(
        OpenTelemetryMiddleware,
        excluded_urls=UNTRACED_URLS,
        default_span_details=_method_only,
        exclude_spans=["receive", "send"],
    )
