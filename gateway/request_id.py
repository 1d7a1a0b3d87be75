"""Every response carries ``x-openstack-request-id`` (and, on the Zun API, the
microversion headers). Pure ASGI middleware: no per-request task or queue.

A well-formed incoming ``X-OpenStack-Request-ID`` (``req-`` and a lowercase
UUID, the form oslo.middleware accepts) is adopted, so a caller's id follows
its request through our logs; anything else is ignored and a new id made.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders

from gateway import errors
from gateway.zun.microversion import version_headers

WELL_FORMED = re.compile(rb"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def incoming_or_new(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-openstack-request-id" and WELL_FORMED.fullmatch(value):
            return value.decode()
    return f"req-{uuid.uuid4()}"


class RequestId:
    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        request_id = state["request_id"] = incoming_or_new(scope["headers"])
        path = scope["path"]
        zun = path.startswith("/v1/") and errors.domain(path) == "container"

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["x-openstack-request-id"] = request_id
                if zun:
                    headers.update(version_headers(state.get("api_version")))
            await send(message)

        await self.app(scope, receive, send_with_id)
