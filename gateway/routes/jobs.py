"""The job API: submit, list, show, logs (optionally followed), cancel, delete."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Annotated, AsyncIterator, Callable

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from gateway.cluster import Cluster
from gateway.context import CallerDep, StoreDep, enforce
from gateway.images import check_images
from gateway.paging import DEFAULT_LIMIT, Limit, Marker, next_link
from runner.errors import Throttled, ZunrayError
from runner import job_service
from runner.fair_share import RETRY_AFTER_S, caps_of
from runner.log_tail import LOG_OFFSET_HEADER, LogRead, read_from
from runner.models import Job, JobStatus
from runner.schemas import JobIn, check_bounds, job_out, rules_needed
from runner.secret_refs import with_registry
from runner.store import Store
from runner.telemetry import current_carrier, tracer

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

FOLLOW_POLL_S = 0.25
MAX_WAIT_S = 60.0


def _cluster(request: Request) -> Cluster:
    return request.app.state.cluster


def check_job_request(request: Request, body: JobIn) -> None:
    """Access rules and operator bounds on a job (or a schedule's job template)."""
    for rule in rules_needed(body):
        enforce(request, rule)
    check_bounds(body, request.app.state.settings)
    if body.registry:  # the image under the registry's domain: allowed before anything is stored
        fields = with_registry(
            request.app.state.store,
            request.state.caller.project_id,
            {"image": body.image, "registry": body.registry},
        )
        check_images(request, [("registry", fields["image"])])


@router.post("", status_code=202, summary="Submit a job")
def submit(
    body: JobIn,
    request: Request,
    store: StoreDep,
    caller: CallerDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """Accepted once committed to the store; the same submission id gives the same job."""
    check_job_request(request, body)
    cluster = _cluster(request)
    settings = request.app.state.settings
    cluster.admit(body.resources.memory_mb, runtime=body.runtime, field="resources.memory_mb")
    # inside the request's server span (gateway/tracing.py), which continues a caller's traceparent
    with tracer().start_as_current_span(
        "job.submit", attributes={"zunray.project": caller.project_id}
    ) as span:
        job, created, to_place = job_service.accept(
            store,
            body.model_dump(),
            project_id=caller.project_id,
            user_id=caller.user_id,
            submission_id=idempotency_key or body.submission_id,
            default_timeout_s=settings.default_timeout_s,
            caps=caps_of(store, settings, caller.project_id),
            trace_context=current_carrier(),
            commit=request.app.state.job_commits,
        )
        span.set_attribute("zunray.job", job.id)
        for task in to_place:
            cluster.submit(task.id)
    headers = {"Location": f"/v1/jobs/{job.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(job_out(job), status_code=202, headers=headers)


@router.get("", summary="List jobs, newest first")
def list_jobs(
    store: StoreDep,
    caller: CallerDep,
    status: Annotated[list[JobStatus] | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    marker: Marker = None,
) -> dict:
    jobs = store.jobs.list_jobs(
        project_id=caller.project_id, statuses=status or (), limit=limit, marker=marker
    )
    return {
        "jobs": [job_out(j) for j in jobs],
        "next": next_link(
            "/v1/jobs", [j.id for j in jobs], limit, status=[s.value for s in status or ()]
        ),
    }


@router.get("/{job_id}", summary="Show a job (optionally wait until it ends)")
async def show(
    job_id: str,
    request: Request,
    caller: CallerDep,
    wait_s: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_S, description="long-poll until terminal or this many seconds"),
    ] = 0,
) -> dict:
    store: Store = request.app.state.store
    job = await asyncio.to_thread(store.jobs.get_job, job_id, project_id=caller.project_id)
    until = time.monotonic() + wait_s
    watcher = request.app.state.watcher
    while not job.status.is_terminal() and (left := until - time.monotonic()) > 0:
        await watcher.changed(left)
        job = store.jobs.get_job(
            job_id, project_id=caller.project_id
        )  # one indexed read: cheaper than a thread hop
    history = await asyncio.to_thread(store.jobs.events_of, job_id)
    out = job_out(job, history=history)
    if job.is_array:
        out["tasks"] = [
            {
                "id": t.id,
                "index": t.task_index,
                "status": t.status.value,
                "exit_code": t.exit_code,
                "attempt": t.attempt,
            }
            for t in store.jobs.tasks_of(job.id)
        ]
    return out


async def _read_logs(request: Request, job: Job, offset: int) -> LogRead:
    """The job's output past ``offset``: from its node while it runs there, else from the store."""
    if not job_service.logs_on_node(job):
        store: Store = request.app.state.store
        data, dropped = await asyncio.to_thread(store.jobs.get_logs, job.id) or (b"", 0)
        return read_from(data, dropped + len(data), offset)
    cluster = _cluster(request)
    return await cluster.call(cluster.node(job.host).read_logs.remote(job.id, offset))


@router.get("/{job_id}/logs", summary="A job's output (stdout and stderr)")
async def logs(
    job_id: str,
    request: Request,
    caller: CallerDep,
    follow: bool = False,
    offset: Annotated[
        int, Query(ge=0, description="bytes of the output already seen: send what follows")
    ] = 0,
) -> Response:
    """Kept after the container is gone (its last ``log_max_bytes``). ``follow=true`` streams until the job ends
    (a project keeps at most ``max_log_followers_per_project`` streams open per gateway).

    Offsets count every byte the job printed. ``Zunray-Log-Offset`` says where to read on: the offset after
    the body, or for a followed log the offset the stream starts at (add the bytes received). A reader that
    fell behind what is kept gets a ``[zunray: N bytes skipped]`` line instead of those bytes."""
    store: Store = request.app.state.store
    job = await asyncio.to_thread(store.jobs.get_job, job_id, project_id=caller.project_id)
    if not follow:
        read = await _read_logs(request, job, offset)
        return Response(
            read.data, media_type="text/plain", headers={LOG_OFFSET_HEADER: str(read.end)}
        )
    try:
        first = await _read_logs(
            request, job, offset
        )  # before the response: its header tells where the stream starts
    except ZunrayError:
        first = LogRead(b"", offset, offset)  # its node does not answer now: the stream asks again
    caps = await asyncio.to_thread(caps_of, store, request.app.state.settings, caller.project_id)
    followers: Counter = (
        request.app.state.followers
    )  # project -> open follow streams; no await from check to count
    if 0 <= caps["log_followers"] <= followers[caller.project_id]:
        raise Throttled(
            f"the project follows {followers[caller.project_id]} logs already, its limit (max_log_followers_per_project)",
            retry_after_s=RETRY_AFTER_S,
        )
    followers[caller.project_id] += 1

    def release() -> None:
        followers[caller.project_id] -= 1
        if followers[caller.project_id] <= 0:
            del followers[caller.project_id]

    return _FollowStream(_follow(request, store, job, first), release, start=first.start)


class _FollowStream(StreamingResponse):
    """A followed log that gives its follower slot back however the response ends
    (the job ended, the client went away before or while it streamed)."""

    def __init__(
        self, content: AsyncIterator[bytes], release: Callable[[], None], *, start: int
    ) -> None:
        super().__init__(content, media_type="text/plain", headers={LOG_OFFSET_HEADER: str(start)})
        self._release = release

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _follow(request: Request, store: Store, job: Job, first: LogRead) -> AsyncIterator[bytes]:
    """The output by offset until the job ended and its last output was sent (read after it ended)."""
    read = first
    while True:
        if read.data:
            yield read.data
        if job.status.is_terminal():
            return
        await asyncio.sleep(FOLLOW_POLL_S)
        job = await asyncio.to_thread(store.jobs.get_job, job.id)
        try:
            read = await _read_logs(request, job, read.end)
        except ZunrayError:
            read = LogRead(b"", read.end, read.end)  # its node does not answer now: ask again


@router.get("/{job_id}/why", summary="Why a job waits: per-host reasons and scores")
async def why(job_id: str, request: Request, caller: CallerDep) -> dict:
    store: Store = request.app.state.store
    job = await asyncio.to_thread(store.jobs.get_job, job_id, project_id=caller.project_id)
    cluster = _cluster(request)
    explained = await cluster.call(cluster.placement.explain.remote(job.id))
    return {
        "id": job.id,
        "status": job.status.value,
        "status_reason": job.status_reason,
        **explained,
    }


@router.post("/{job_id}/cancel", status_code=202, summary="Cancel a job")
def cancel(job_id: str, request: Request, store: StoreDep, caller: CallerDep) -> dict:
    job, placed = job_service.cancel(store, job_id, project_id=caller.project_id)
    for target in placed:
        _cluster(request).node(target.host).cancel.remote(target.id)
    return job_out(job)


@router.delete("/{job_id}", status_code=204, summary="Delete an ended job and its logs")
def delete(job_id: str, store: StoreDep, caller: CallerDep) -> Response:
    store.jobs.delete_job(job_id, project_id=caller.project_id)
    return Response(status_code=204)
