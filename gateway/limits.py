"""A cap on request bodies: 413 in the usual error shape when a body is too big.

Checked from ``Content-Length`` before the app reads anything, and by counting
for chunked bodies that declare no length.
"""

from __future__ import annotations

import json
import uuid

from gateway.errors import domain


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware (it must see the body before any route does)."""

    def __init__(self, app, max_bytes: int) -> None:  # noqa: ANN001
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._reject(scope, send)
        seen = 0

        async def counting_receive():  # noqa: ANN202
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await self._reject(scope, send)

    async def _reject(self, scope, send) -> None:  # noqa: ANN001
        await send_error(
            scope,
            send,
            413,
            "request-too-large",
            f"Request body is larger than the limit of {self.max_bytes} bytes",
        )


async def send_error(scope, send, status: int, kind: str, detail: str) -> None:  # noqa: ANN001
    """An error in the usual shape, from a middleware (before any route runs)."""
    request_id = scope.get("state", {}).get("request_id") or f"req-{uuid.uuid4()}"
    body = json.dumps(
        {
            "errors": [
                {
                    "request_id": request_id,
                    "code": f"{domain(scope['path'])}.{kind}",
                    "status": status,
                    "title": detail,
                    "detail": detail,
                    "links": [],
                }
            ]
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-openstack-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
