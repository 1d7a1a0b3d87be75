"""``client.functions``: the SDK's function calls over HTTP (register, change, read, list,
delete, invoke now or later, read an invocation), on the Client's session."""

from __future__ import annotations

import builtins  # the class body's own ``list`` method would shadow the type in annotations
import json
from typing import TYPE_CHECKING, Any

from runner.client.resources import Function, Invocation
from runner.client.responses import call, decode_result, list_all

if TYPE_CHECKING:
    from runner.client.http import Client

JSON = {"Content-Type": "application/json"}


def _body(payload: Any, raw: bytes | None = None) -> bytes:
    """What an invocation sends: ``raw`` bytes as they are, else ``payload`` as JSON (none: empty)."""
    if raw is not None:
        return raw
    return b"" if payload is None else json.dumps(payload).encode()


class Functions:
    """A project's functions: ``Client(...).functions.invoke("echo", {"n": 1})``."""

    def __init__(self, client: Client) -> None:
        self._client = client  # its ``http`` is read on each call: one session for the whole SDK

    def create(self, name: str, image: str, **fields: Any) -> Function:
        """Register a function (fields as ``POST /v1/functions`` takes them: handler, code, ...)."""
        body = {"name": name, "image": image, **fields}
        return Function.from_api(call(self._client.http, "POST", "/v1/functions", json=body).json())

    def update(self, name: str, **fields: Any) -> Function:
        """Change a function's fields (a new version; warm instances of the old one retire)."""
        resp = call(self._client.http, "PATCH", f"/v1/functions/{name}", json=fields)
        return Function.from_api(resp.json())

    def get(self, name: str) -> Function:
        """A function with its live ``stats``."""
        return Function.from_api(call(self._client.http, "GET", f"/v1/functions/{name}").json())

    def list(self) -> builtins.list[Function]:
        """The project's functions, by name (every page)."""
        return [
            Function.from_api(f) for f in list_all(self._client.http, "/v1/functions", "functions")
        ]

    def delete(self, name: str) -> None:
        call(self._client.http, "DELETE", f"/v1/functions/{name}")

    def invoke(self, name: str, payload: Any = None, *, raw: bytes | None = None) -> Any:
        """Call a function and return its result (JSON value, or bytes)."""
        resp = call(
            self._client.http,
            "POST",
            f"/v1/functions/{name}/invoke",
            content=_body(payload, raw),
            headers=JSON,
        )
        return decode_result(resp.content, resp.headers.get("content-type", ""))

    def invoke_async(self, name: str, payload: Any = None) -> str:
        """Queue a call; returns the invocation id (see ``invocation``)."""
        resp = call(
            self._client.http,
            "POST",
            f"/v1/functions/{name}/invoke",
            params={"async": "true"},
            content=_body(payload),
            headers=JSON,
        )
        return resp.json()["id"]

    def invocation(self, inv_id: str) -> Invocation:
        """A queued call: its status, and its result or error once it ended."""
        return Invocation.from_api(
            call(self._client.http, "GET", f"/v1/invocations/{inv_id}").json()
        )
