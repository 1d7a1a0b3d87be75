"""``client.schedules``: the SDK's cron schedule calls over HTTP (create, read, list, change,
delete, and the runs a schedule fired), on the Client's session."""

from __future__ import annotations

import builtins  # the class body's own ``list`` method would shadow the type in annotations
from typing import TYPE_CHECKING, Any

from runner.client.resources import Schedule, ScheduleRun
from runner.client.responses import call, list_all

if TYPE_CHECKING:
    from runner.client.http import Client


class Schedules:
    """A project's schedules, each by id or name: ``Client(...).schedules.runs("nightly")``."""

    def __init__(self, client: Client) -> None:
        self._client = client  # its ``http`` is read on each call: one session for the whole SDK

    def create(self, name: str, cron: str, job: dict, **fields: Any) -> Schedule:
        """A cron schedule creating ``job`` (the body of ``POST /v1/jobs``); ``fields``: time_zone,
        concurrency_policy, starting_deadline_s, history limits, suspend."""
        body = {"name": name, "cron": cron, "job": job, **fields}
        return Schedule.from_api(call(self._client.http, "POST", "/v1/schedules", json=body).json())

    def get(self, ident: str) -> Schedule:
        return Schedule.from_api(call(self._client.http, "GET", f"/v1/schedules/{ident}").json())

    def list(self) -> builtins.list[Schedule]:
        """The project's schedules, by name (every page)."""
        return [
            Schedule.from_api(s) for s in list_all(self._client.http, "/v1/schedules", "schedules")
        ]

    def update(self, ident: str, **changes: Any) -> Schedule:
        """Change a schedule: cron, time_zone, concurrency_policy, suspend, ..."""
        resp = call(self._client.http, "PATCH", f"/v1/schedules/{ident}", json=changes)
        return Schedule.from_api(resp.json())

    def delete(self, ident: str, *, purge: bool = False) -> None:
        """Delete a schedule; ``purge`` also removes its run records."""
        params = {"purge": str(purge).lower()}
        call(self._client.http, "DELETE", f"/v1/schedules/{ident}", params=params)

    def runs(self, ident: str, *, limit: int = 100) -> builtins.list[ScheduleRun]:
        """Its fire times, newest first, with what became of each."""
        resp = call(
            self._client.http, "GET", f"/v1/schedules/{ident}/runs", params={"limit": limit}
        )
        return [ScheduleRun.from_api(r) for r in resp.json()["runs"]]
