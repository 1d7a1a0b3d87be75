"""Cron schedules that create jobs: /v1/schedules and their runs."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from actors.schedules import MIN_STARTING_DEADLINE_S
from runner.caps import NAME_CHARS, SHORT_CHARS
from gateway.context import CallerDep, StoreDep
from gateway.paging import DEFAULT_LIMIT, Limit, Marker, next_link
from gateway.routes.jobs import check_job_request
from runner.schemas import JobIn
from runner.secret_refs import check_refs_exist, with_registry
from policies.schedule import BadSchedule, next_fire, validate
from runner.errors import InvalidSpec, NotFound
from runner.fair_share import caps_of, check_completions, check_interval

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=NAME_CHARS)
    cron: str = Field(..., max_length=SHORT_CHARS, description="5 fields, or 6 with seconds first")
    time_zone: str = Field("UTC", max_length=SHORT_CHARS)
    job: JobIn
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = "Allow"
    starting_deadline_s: float | None = Field(
        None,
        description=f"at least {MIN_STARTING_DEADLINE_S:g} s (two ticks of the schedule actor)",
    )
    successful_history_limit: int = Field(3, ge=0, le=1000)
    failed_history_limit: int = Field(1, ge=0, le=1000)
    suspend: bool = False


class SchedulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cron: str | None = Field(None, max_length=SHORT_CHARS)
    time_zone: str | None = Field(None, max_length=SHORT_CHARS)
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] | None = None
    starting_deadline_s: float | None = None
    successful_history_limit: int | None = Field(None, ge=0, le=1000)
    failed_history_limit: int | None = Field(None, ge=0, le=1000)
    suspend: bool | None = None


def _check(cron: str, time_zone: str, deadline: float | None) -> None:
    try:
        validate(cron, time_zone)
    except BadSchedule as exc:
        raise InvalidSpec(
            str(exc), field="time_zone" if "time zone" in str(exc) else "cron"
        ) from None
    if deadline is not None and deadline < MIN_STARTING_DEADLINE_S:
        raise InvalidSpec(
            f"must be at least {MIN_STARTING_DEADLINE_S:g} s (two ticks of the schedule actor)",
            field="starting_deadline_s",
        )


def iso_time(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def _view(s: dict) -> dict:
    out = {
        k: s[k]
        for k in (
            "uuid",
            "name",
            "project_id",
            "user_id",
            "cron",
            "time_zone",
            "job",
            "concurrency_policy",
            "starting_deadline_s",
            "successful_history_limit",
            "failed_history_limit",
            "suspend",
        )
    }
    out["id"] = out.pop("uuid")
    out["next_run_at"] = (
        None
        if s["suspend"]
        else iso_time(
            next_fire(
                s["cron"], s["time_zone"], datetime.fromtimestamp(s["checked_until"], timezone.utc)
            ).timestamp()
        )
    )
    out["created_at"], out["updated_at"] = iso_time(s["created_at"]), iso_time(s["updated_at"])
    out["links"] = [
        {"rel": "self", "href": f"/v1/schedules/{s['uuid']}"},
        {"rel": "runs", "href": f"/v1/schedules/{s['uuid']}/runs"},
    ]
    return out


@router.post("", status_code=201, summary="Create a schedule")
def create(body: ScheduleIn, request: Request, store: StoreDep, caller: CallerDep) -> dict:
    _check(body.cron, body.time_zone, body.starting_deadline_s)
    check_job_request(request, body.job)  # the same rules as POST /v1/jobs
    check_refs_exist(store, caller.project_id, body.job.secrets, field="job.secrets")
    caps = caps_of(store, request.app.state.settings, caller.project_id)
    check_interval(caps, body.cron)
    check_completions(caps, body.job.completions)
    values = body.model_dump()
    values["job"] = with_registry(
        store, caller.project_id, body.job.model_dump(), field="job.registry"
    )
    s = store.schedules.create_schedule(
        {
            "uuid": str(uuid.uuid4()),
            "project_id": caller.project_id,
            "user_id": caller.user_id,
            **values,
        },
        max_count=caps["schedules"],
    )
    return _view(s)


@router.get("", summary="List the project's schedules, by name")
def list_schedules(
    store: StoreDep, caller: CallerDep, limit: Limit = DEFAULT_LIMIT, marker: Marker = None
) -> dict:
    found = store.schedules.list_schedules(project_id=caller.project_id, limit=limit, marker=marker)
    return {
        "schedules": [_view(s) for s in found],
        "next": next_link("/v1/schedules", [s["uuid"] for s in found], limit),
    }


@router.get("/{ident}", summary="Show a schedule")
def show(ident: str, store: StoreDep, caller: CallerDep) -> dict:
    return _view(store.schedules.get_schedule(ident, project_id=caller.project_id))


@router.patch("/{ident}", summary="Change or suspend a schedule")
def update(
    ident: str, body: SchedulePatch, request: Request, store: StoreDep, caller: CallerDep
) -> dict:
    s = store.schedules.get_schedule(ident, project_id=caller.project_id)
    changes = body.model_dump(exclude_unset=True)
    merged = {**s, **changes}
    _check(merged["cron"], merged["time_zone"], merged["starting_deadline_s"])
    if "cron" in changes:
        check_interval(
            caps_of(store, request.app.state.settings, caller.project_id), merged["cron"]
        )
    return _view(store.schedules.update_schedule(s["uuid"], **changes) or s)


@router.delete(
    "/{ident}",
    status_code=204,
    summary="Delete a schedule (its run records stay unless purge=true)",
)
def delete(ident: str, store: StoreDep, caller: CallerDep, purge: bool = False) -> Response:
    s = store.schedules.get_schedule(ident, project_id=caller.project_id)
    store.schedules.delete_schedule(s["uuid"], purge=purge)
    return Response(status_code=204)


@router.get(
    "/{ident}/runs", summary="Each fire time: Started (with its job), Skipped or Missed, and why"
)
def runs(ident: str, store: StoreDep, caller: CallerDep, limit: int = 100) -> dict:
    s = store.schedules.get_schedule(ident, project_id=caller.project_id)
    out = []
    for r in store.schedules.list_runs(s["uuid"], limit=min(max(limit, 1), 1000)):
        status = None
        if r["job_id"]:
            try:
                status = store.jobs.get_job(r["job_id"]).status.value
            except NotFound:  # pruned by the history limits
                status = "Deleted"
        out.append(
            {
                "scheduled_at": iso_time(r["scheduled_at"]),
                "outcome": r["outcome"],
                "reason": r["reason"],
                "job_id": r["job_id"],
                "job_status": status,
            }
        )
    return {"runs": out}
