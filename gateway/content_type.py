"""JSON bodies must say so: 415 for a body sent as a form or as text.

``curl -d`` sends ``application/x-www-form-urlencoded``; without this check the
route would answer 400 "Input should be a valid dictionary", which does not say
what to change. A body with no content type is read as JSON (older clients);
function invocations take any payload, raw.
"""

from __future__ import annotations

from gateway.limits import send_error

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
RAW_SUFFIXES = ("/invoke",)  # a function's payload is whatever the caller sends


def is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class RequireJson:
    """Pure ASGI middleware: 415 before any route reads a body that is not JSON."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if (
            scope["type"] != "http"
            or scope["method"] not in BODY_METHODS
            or scope["path"].endswith(RAW_SUFFIXES)
        ):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type")
        has_body = (
            headers.get(b"content-length", b"0") not in (b"0", b"")
            or b"transfer-encoding" in headers
        )
        if content_type is not None and has_body and not is_json(content_type):
            detail = f"the body is sent as {content_type.decode('latin-1')[:100]!r}: send JSON with 'Content-Type: application/json' (curl --json '...')"
            return await send_error(scope, send, 415, "unsupported-media-type", detail)
        return await self.app(scope, receive, send)
