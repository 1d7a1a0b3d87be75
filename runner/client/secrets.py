"""``client.secrets``: the SDK's calls on a project's secrets over HTTP (create, read, list,
replace the value, delete), on the Client's session. No call returns a value: the API never does."""

from __future__ import annotations

import builtins  # the class body's own ``list`` method would shadow the type in annotations
from typing import TYPE_CHECKING

from runner.client.resources import Secret
from runner.client.responses import call

if TYPE_CHECKING:
    from runner.client.http import Client


class Secrets:
    """A project's secrets, by name: ``Client(...).secrets.create("db", "s3cret")``; jobs and
    functions take them as ``secrets=[{"secret": "db", "env": "DB_PASS"}]``."""

    def __init__(self, client: Client) -> None:
        self._client = client  # its ``http`` is read on each call: one session for the whole SDK

    def create(self, name: str, value: str) -> Secret:
        body = {"name": name, "value": value}
        return Secret.from_api(call(self._client.http, "POST", "/v1/secrets", json=body).json())

    def get(self, name: str) -> Secret:
        """Its metadata (the value is never shown)."""
        return Secret.from_api(call(self._client.http, "GET", f"/v1/secrets/{name}").json())

    def list(self) -> builtins.list[Secret]:
        """The project's secrets, by name."""
        resp = call(self._client.http, "GET", "/v1/secrets")
        return [Secret.from_api(s) for s in resp.json()["secrets"]]

    def replace(self, name: str, value: str) -> Secret:
        """A new value: containers created from now on get it; running ones keep theirs."""
        resp = call(self._client.http, "PUT", f"/v1/secrets/{name}", json={"value": value})
        return Secret.from_api(resp.json())

    def delete(self, name: str) -> None:
        """Refused (409) while a job not ended, a schedule, a function, a container or a capsule
        references it."""
        call(self._client.http, "DELETE", f"/v1/secrets/{name}")
