"""``client.containers``: the SDK's Zun container calls over HTTP (create, read, list, act,
logs, delete), on the Client's session, at the Zun microversion they were written for."""

from __future__ import annotations

import builtins  # the class body's own ``list`` method would shadow the type in annotations
from typing import TYPE_CHECKING, Any

import httpx

from runner.client.resources import Container
from runner.client.responses import call

if TYPE_CHECKING:
    from runner.client.http import Client

ZUN_VERSION = "container 1.40"


class Containers:
    """A project's Zun containers, each by uuid or name: ``Client(...).containers.logs("box")``."""

    def __init__(self, client: Client) -> None:
        self._client = client  # its ``http`` is read on each call: one session for the whole SDK

    def _zun(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"OpenStack-API-Version": ZUN_VERSION}
        return call(self._client.http, method, f"/v1/containers{path}", headers=headers, **kwargs)

    def create(
        self,
        image: str,
        command: builtins.list[str] | None = None,
        *,
        name: str | None = None,
        run: bool = True,
        **fields: Any,
    ) -> Container:
        """A Zun container (fields as Zun's create takes them: cpu, memory, environment, ...);
        ``run``: start it once created."""
        body = {
            "image": image,
            **({"command": command} if command else {}),
            **({"name": name} if name else {}),
            **fields,
        }
        return Container.from_api(self._zun("POST", "?run=true" if run else "", json=body).json())

    def get(self, ident: str) -> Container:
        return Container.from_api(self._zun("GET", f"/{ident}").json())

    def list(self) -> builtins.list[Container]:
        return [Container.from_api(c) for c in self._zun("GET", "").json()["containers"]]

    def action(self, ident: str, action: str) -> None:
        """start, stop, reboot, pause, unpause or kill."""
        self._zun("POST", f"/{ident}/{action}")

    def logs(self, ident: str) -> str:
        return self._zun("GET", f"/{ident}/logs").text

    def delete(self, ident: str, *, force: bool = False, stop: bool = False) -> None:
        """Delete it; ``force``: even while it runs (killed), ``stop``: stopped first."""
        self._zun("DELETE", f"/{ident}", params={"force": str(force), "stop": str(stop)})
