"""Zun actions take their parameters from the query string or the JSON body.

Zun (pecan) merges both: ``POST /v1/containers/web/execute`` with
``{"command": "echo hi"}`` as its body works there as ``?command=echo+hi`` does.
The routes here declare query parameters, so this middleware copies a JSON
object body's scalar values into the query string before routing. The query
wins where both name a parameter (it is what python-zunclient sends). Only the
action endpoints of containers are touched; ``put_archive`` reads its body itself.
The body was already bounded by ``BodyLimit``; each copied value is bounded here.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode

from gateway.limits import send_error

ACTION_PATH = re.compile(r"^/v1/containers/[^/]+/(?P<action>[a-z_]+)$")
BODY_OWNERS = frozenset({"put_archive"})  # actions whose body is their payload, not parameters
MAX_VALUE_CHARS = 65536


def _scalar(value: object) -> str | None:
    """A JSON value as Zun's query parameter text; None for what a query cannot carry."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


class ZunActionParams:
    """Pure ASGI middleware: a container action's JSON body fills its missing query parameters."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        match = (
            ACTION_PATH.match(scope.get("path", ""))
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if match is None or match["action"] in BODY_OWNERS:
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip():
            try:
                params = json.loads(body)
            except ValueError:
                return await send_error(
                    scope, send, 400, "bad-request", "the body is not valid JSON"
                )
            if isinstance(params, dict):
                query = parse_qsl(
                    scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
                )
                given = {k for k, _ in query}
                for key, value in params.items():
                    text = _scalar(value)
                    if key in given or text is None:
                        continue
                    if len(text) > MAX_VALUE_CHARS:
                        return await send_error(
                            scope,
                            send,
                            400,
                            "bad-request",
                            f"{key[:64]}: longer than {MAX_VALUE_CHARS} characters",
                        )
                    query.append((key, text))
                scope = {**scope, "query_string": urlencode(query).encode("latin-1", "replace")}
        replayed = False

        async def replay():  # noqa: ANN202
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)
