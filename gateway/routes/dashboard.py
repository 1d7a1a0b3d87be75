"""The dashboard: a page and its assets served by the gateway (no CDN), the
login step for Keystone, and a job's trace for the timeline.

The charts' data (GET /v1/dashboard/series, gateway/series.py) is the caller's
project's, or every project's for a caller the rule dashboard:series_all allows.

The login is rate-limited per client address (gateway/login_throttle.py).
The page and its assets are public (they hold no data); everything they show
comes from the API with the caller's token, so the same authentication and
access rules apply. A 401 anywhere sends the page back to its login step.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway import series
from gateway.context import CallerDep, StoreDep, permitted
from runner.errors import InvalidSpec, NotFound, Unauthorized

router = APIRouter(tags=["dashboard"])

ASSETS = Path(__file__).resolve().parent.parent / "dashboard"
MEDIA = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
TRACE_SCAN_BYTES = 32 << 20  # the newest part of a trace file that a timeline reads
MAX_SPANS = 200


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(..., min_length=1, max_length=255)
    password: str = Field(..., min_length=1, max_length=4096)
    project: str = Field(..., min_length=1, max_length=255)


@router.get("/dashboard", include_in_schema=False)
@router.get("/dashboard/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(ASSETS / "index.html", media_type="text/html")


@router.get("/dashboard/{asset}", include_in_schema=False)
def asset(asset: str) -> FileResponse:
    path = ASSETS / asset
    if path.suffix not in MEDIA or path.parent != ASSETS or not path.is_file():
        raise NotFound(f"no dashboard asset {asset}")
    return FileResponse(path, media_type=MEDIA[path.suffix])


@router.get("/v1/dashboard/config", summary="How the dashboard logs in")
def config(request: Request) -> dict:
    return {"auth_mode": request.app.state.settings.auth_mode}


@router.post("/v1/dashboard/login", summary="A Keystone token for the dashboard (password login)")
async def login(body: Login, request: Request) -> dict:
    auth = request.app.state.auth
    if auth is None:
        raise InvalidSpec(
            "this gateway runs without Keystone (noauth): no login needed", field="username"
        )
    client = request.client.host if request.client else ""
    request.app.state.logins.check(client)
    try:
        token, expires_at = await auth.password_token(body.username, body.password, body.project)
    except Unauthorized:
        request.app.state.logins.failed(client)
        raise
    return {"token": token, "expires_at": expires_at}


@router.get(
    "/v1/dashboard/series",
    summary="The dashboard's charts over time (the last dashboard_samples samples)",
)
def charts(request: Request, store: StoreDep, caller: CallerDep) -> dict:
    """Queue depth and placed capsules per project, job outcomes, cold and warm calls and cpu
    used per minute: the caller's project, or every project for dashboard:series_all."""
    settings = request.app.state.settings
    scope = None if permitted(request, "dashboard:series_all") else caller.project_id
    end = time.time()
    start = end - settings.dashboard_sample_s * settings.dashboard_samples
    ended = store.jobs.ended_per_minute(start=start, end=end, project_id=scope)
    cpu = store.usage_records.cpu_s_per_minute(start=start, end=end, project_id=scope)
    return {
        "start": start,
        "end": end,
        "sample_s": settings.dashboard_sample_s,
        "project": scope,
        "charts": series.charts(
            request.app.state.series.samples(), ended, cpu, start=start, end=end, project=scope
        ),
    }


@router.get(
    "/v1/jobs/{job_id}/trace", summary="A job's trace as a timeline (spans, or its history)"
)
def trace(job_id: str, request: Request, store: StoreDep, caller: CallerDep) -> dict:
    """Spans from the file exporter when one is configured; otherwise the job's
    status history, one bar per status."""
    job = store.jobs.get_job(job_id, project_id=caller.project_id)
    exporter = request.app.state.settings.trace_exporter
    trace_id = (job.trace_context.get("traceparent") or "--").split("-")[1]
    if exporter.startswith("file:") and trace_id and Path(exporter.removeprefix("file:")).exists():
        spans = _spans_from_file(Path(exporter.removeprefix("file:")), trace_id)
        if spans:
            return {"source": "traces", "trace_id": trace_id, "spans": spans}
    history = store.jobs.events_of(job.id)
    spans = [
        {
            "name": h["status"],
            "service": "history",
            "start": h["at"],
            "end": (history[i + 1]["at"] if i + 1 < len(history) else (job.finished_at or h["at"])),
        }
        for i, h in enumerate(history)
    ]
    return {"source": "history", "trace_id": trace_id or None, "spans": spans}


def _spans_from_file(path: Path, trace_id: str) -> list[dict]:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - TRACE_SCAN_BYTES))
        lines = f.read().splitlines()
    needle = trace_id.encode()
    spans = []
    for line in lines:
        if needle in line:
            try:
                s = json.loads(line)
            except ValueError:
                continue
            spans.append(
                {
                    "name": s["name"],
                    "service": s.get("service"),
                    "start": s["start_ns"] / 1e9,
                    "end": s["end_ns"] / 1e9,
                }
            )
    return sorted(spans, key=lambda s: s["start"])[:MAX_SPANS]
