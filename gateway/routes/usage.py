"""Usage export: GET /v1/usage as Parquet, Arrow or JSON (schema in runner/usage.py)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gateway.context import CallerDep, StoreDep, enforce
from runner.errors import InvalidSpec, NotFound
from runner.usage import export

router = APIRouter(tags=["usage"])

DEFAULT_RANGE_S = 24 * 3600.0


def parse_time(value: str | None, *, field: str) -> float | None:
    """ISO 8601 (a zone-less one is UTC) or epoch seconds."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidSpec(
            f"not a time: {value!r} (ISO 8601 or epoch seconds)", field=field
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


@router.get(
    "/v1/usage",
    summary="Usage records (cpu-seconds, memory-MB-seconds, wall seconds, invocations) as Parquet, Arrow or JSON",
)
def usage(
    request: Request,
    store: StoreDep,
    caller: CallerDep,
    start: str | None = None,
    end: str | None = None,
    project_id: str | None = None,
    all_projects: bool = False,
    fmt: Annotated[str, Query(alias="format")] = "json",
) -> Response:
    """Records that ended in [start, end) (default: the last day). A member sees its own
    project; another project's usage is 404. Admins name any project, or ``all_projects``."""
    settings = request.app.state.settings
    end_s = parse_time(end, field="end") or time.time()
    start_s = parse_time(start, field="start")
    start_s = end_s - DEFAULT_RANGE_S if start_s is None else start_s
    if end_s <= start_s:
        raise InvalidSpec("end must be after start", field="end")
    if end_s - start_s > settings.usage_max_range_s:
        raise InvalidSpec(
            f"the range is over the maximum of {settings.usage_max_range_s / 86400:g} days (usage_max_range_s)",
            field="start",
        )
    scope: str | None = caller.project_id
    if all_projects:
        enforce(request, "usage:get_all")
        scope = None
    elif project_id is not None and project_id != caller.project_id:
        if not caller.is_admin:
            raise NotFound(f"no usage for project {project_id}")
        scope = project_id
    body, media = export(
        store.usage_records.usage_columns(start=start_s, end=end_s, project_id=scope), fmt
    )
    return Response(body, media_type=media)
