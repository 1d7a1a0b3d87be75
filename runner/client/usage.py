"""``client.usage``: the SDK's usage records over HTTP, as typed records or as a file's bytes,
on the Client's session."""

from __future__ import annotations

import builtins  # the class body's own ``list`` method would shadow the type in annotations
import json
from typing import TYPE_CHECKING

from runner.client.resources import UsageRecord
from runner.client.responses import call

if TYPE_CHECKING:
    from runner.client.http import Client


class Usage:
    """What ran and for how long: ``Client(...).usage.list(start=time.time() - 3600)``.

    Both calls take records that ended in [``start``, ``end``) (ISO 8601 or epoch seconds;
    default: the last day); ``project_id`` or ``all_projects`` reach beyond the caller's
    project (an admin's or operator's view)."""

    def __init__(self, client: Client) -> None:
        self._client = client  # its ``http`` is read on each call: one session for the whole SDK

    def list(
        self,
        *,
        start: str | float | None = None,
        end: str | float | None = None,
        project_id: str | None = None,
        all_projects: bool = False,
    ) -> builtins.list[UsageRecord]:
        """The records, typed."""
        body = self.export(
            "json", start=start, end=end, project_id=project_id, all_projects=all_projects
        )
        return [UsageRecord.from_api(r) for r in json.loads(body)["usage"]]

    def export(
        self,
        fmt: str,
        *,
        start: str | float | None = None,
        end: str | float | None = None,
        project_id: str | None = None,
        all_projects: bool = False,
    ) -> bytes:
        """The same records as a file's bytes: ``fmt`` parquet, arrow or json."""
        params = {
            k: str(v)
            for k, v in (("start", start), ("end", end), ("project_id", project_id))
            if v is not None
        }
        if all_projects:
            params["all_projects"] = "true"
        params["format"] = fmt
        return call(self._client.http, "GET", "/v1/usage", params=params).content
