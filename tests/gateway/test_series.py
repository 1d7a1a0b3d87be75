"""The dashboard's charts: the sample ring, the per-minute series, and who sees which project (no Ray, no Docker)."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway import errors
from gateway.app import access_rules
from gateway.context import Caller
from gateway.routes import dashboard
from gateway.series import MAX_SERIES, Sample, SeriesRing, charts
from runner.models import CapsuleSpec, ContainerSpec, Job, JobStatus
from runner.settings import Settings

T0 = 1_800_000_000.0  # a whole minute


def stats(project: str, function: str, cold: int, warm: int) -> dict:
    return {"project_id": project, "function": function, "cold_starts": cold, "warm_hits": warm}


def test_counters_become_counts_per_interval_from_a_baseline_and_survive_an_actor_restart():
    ring = SeriesRing(samples=10)
    ring.add(
        T0, {}, [stats("p1", "f", 5, 40)]
    )  # counted before the gateway started: not this interval's
    placement = {"queued": {"p1": 2, "p2": 0}, "placed": {"p1": 1}}
    ring.add(T0 + 5, placement, [stats("p1", "f", 6, 43), stats("p2", "g", 1, 0)])
    ring.add(
        T0 + 10, {}, [stats("p1", "f", 1, 2)]
    )  # the functions actor restarted: its counters began again
    first, second, third = ring.samples()
    assert (first.cold, first.warm) == ({}, {})
    assert second.queued == {"p1": 2} and second.placed == {
        "p1": 1
    }  # projects with nothing are not kept
    assert (second.cold, second.warm) == ({"p1": 1, "p2": 1}, {"p1": 3})
    assert (third.cold, third.warm) == ({"p1": 1}, {"p1": 2})


def test_the_ring_keeps_only_the_newest_samples():
    ring = SeriesRing(samples=3)
    for i in range(10):
        ring.add(T0 + i, {"queued": {"p1": i}}, [])
    assert [s.queued["p1"] for s in ring.samples()] == [7, 8, 9]


def test_outcomes_calls_and_cpu_are_counted_per_minute():
    samples = [
        Sample(at=T0 + 10, queued={"p1": 3}, placed={"p1": 1}, cold={"p1": 1}, warm={}),
        Sample(at=T0 + 70, queued={}, placed={"p1": 2}, cold={}, warm={"p1": 4}),
        Sample(at=T0 + 80, queued={}, placed={"p1": 2}, cold={}, warm={"p1": 1}),
    ]
    ended = [
        ("p1", "Succeeded", T0, 2),
        ("p1", "Failed", T0 + 60, 1),
        ("p1", "Cancelled", T0 + 120, 1),
    ]
    cpu = [("p1", T0, 60.0), ("p1", T0 + 60, 120.0)]
    got = charts(samples, ended, cpu, start=T0 + 5, end=T0 + 180, project=None)
    assert got["queue_depth"]["times"] == [T0 + 10, T0 + 70, T0 + 80]
    assert got["queue_depth"]["series"] == {"p1": [3, 0, 0]}
    assert got["placed"]["series"] == {"p1": [1, 2, 2]}
    assert got["outcomes"]["times"] == [T0, T0 + 60, T0 + 120] and got["outcomes"]["step_s"] == 60
    assert got["outcomes"]["series"] == {
        "Succeeded": [2, 0, 0],
        "Failed": [0, 1, 0],
        "Cancelled": [0, 0, 1],
        "TimedOut": [0, 0, 0],
    }
    assert got["invocations"]["series"] == {"cold": [1, 0, 0], "warm": [0, 5, 0]}
    assert got["usage"]["series"] == {"p1": [1.0, 2.0, 0.0]}  # cpu-seconds per minute / 60: cores


def test_beyond_the_biggest_projects_the_rest_is_one_other_series():
    queued = {f"p{i:02d}": i + 1 for i in range(MAX_SERIES + 3)}
    samples = [Sample(at=T0, queued=queued, placed={}, cold={}, warm={})]
    series = charts(samples, [], [], start=T0, end=T0 + 60, project=None)["queue_depth"]["series"]
    assert len(series) == MAX_SERIES + 1 and series["other"] == [1 + 2 + 3]
    assert "p00" not in series and f"p{MAX_SERIES + 2:02d}" in series


def test_a_members_view_has_nothing_of_another_project():
    samples = [
        Sample(
            at=T0,
            queued={"p1": 1, "p2": 7},
            placed={"p2": 3},
            cold={"p2": 2},
            warm={"p1": 1, "p2": 9},
        )
    ]
    ended, cpu = [("p2", "Failed", T0, 1)], [("p2", T0, 60.0)]
    got = charts(samples, ended, cpu, start=T0, end=T0 + 60, project="p1")
    assert got["queue_depth"]["series"] == {"p1": [1]} and got["placed"]["series"] == {}
    assert got["invocations"]["series"] == {"cold": [0], "warm": [1]}
    assert got["outcomes"]["series"]["Failed"] == [0] and got["usage"]["series"] == {}


def usage_row(project: str, ended_at: float, cpu_s: float) -> dict:
    return dict(
        project_id=project,
        kind="job",
        object_id=str(uuid.uuid4()),
        name="j",
        host="h",
        runtime="runc",
        started_at=ended_at - 60,
        ended_at=ended_at,
        wall_s=60.0,
        cpus=cpu_s / 60,
        memory_mb=64.0,
        cpu_s=cpu_s,
        memory_mb_s=3840.0,
        invocations=0,
        exit_code=None,
        status="Running",
    )


@pytest.fixture
def series_app(sqlite_store):
    """The dashboard routes over a real store and ring; the caller is named by X-Project-Id and X-Roles."""
    app = FastAPI()
    errors.install(app)

    @app.middleware("http")
    async def who(request, call_next):  # noqa: ANN001, ANN202 - stands in for gateway/auth.py
        roles = tuple(request.headers["X-Roles"].split(","))
        request.state.caller = Caller(
            project_id=request.headers["X-Project-Id"], user_id="u", roles=roles
        )
        return await call_next(request)

    app.include_router(dashboard.router)
    app.state.store, app.state.rules = sqlite_store, access_rules(None)
    app.state.settings = Settings(dashboard_sample_s=5.0, dashboard_samples=720)
    app.state.series = SeriesRing(samples=720)
    now = time.time()
    app.state.series.add(now - 10, {"queued": {"p1": 1, "p2": 4}}, [])
    for project, status in (("p1", JobStatus.SUCCEEDED), ("p2", JobStatus.FAILED)):
        capsule = CapsuleSpec(containers=(ContainerSpec("busybox"),))
        job = Job(id=str(uuid.uuid4()), project_id=project, user_id="u", capsule=capsule)
        sqlite_store.jobs.create_job(job)
        for step in (JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING):
            sqlite_store.jobs.transition_job(job.id, step)
        sqlite_store.jobs.transition_job(job.id, status, finished_at=time.time())
    sqlite_store.usage_records.record_usage(
        [usage_row("p1", now - 5, 30.0), usage_row("p2", now - 5, 120.0)]
    )
    with TestClient(app) as client:
        yield client


def test_a_member_gets_only_their_projects_series_and_an_admin_every_projects(series_app):
    member = series_app.get(
        "/v1/dashboard/series", headers={"X-Project-Id": "p1", "X-Roles": "member"}
    ).json()
    assert member["project"] == "p1"
    got = member["charts"]
    assert got["queue_depth"]["series"] == {"p1": [1]} and list(got["usage"]["series"]) == ["p1"]
    outcomes = got["outcomes"]["series"]
    assert sum(outcomes["Succeeded"]) == 1 and sum(outcomes["Failed"]) == 0  # the failure was p2's
    admin = series_app.get(
        "/v1/dashboard/series", headers={"X-Project-Id": "p1", "X-Roles": "admin,member"}
    ).json()
    assert admin["project"] is None
    every = admin["charts"]
    assert every["queue_depth"]["series"] == {"p1": [1], "p2": [4]} and sorted(
        every["usage"]["series"]
    ) == ["p1", "p2"]
    assert sum(every["outcomes"]["series"]["Failed"]) == 1
