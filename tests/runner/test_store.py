"""The store on a real SQLite file (WAL), through its alembic schema."""

from __future__ import annotations

import threading
import uuid

import pytest

from runner.errors import Conflict, InvalidTransition, NotFound, Throttled
from runner.models import CapsuleSpec, ContainerSpec, Job, JobStatus
from runner.store import Store
from runner.local import postgres
from tests.conftest import free_port


@pytest.fixture(scope="session")
def postgres_url():
    if not postgres.available():
        pytest.skip("PostgreSQL is not installed (scripts/setup.sh installs it)")
    with postgres.postgres_server(free_port(low=26000)) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The same store tests on SQLite (WAL) and on a real PostgreSQL."""
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'z.db'}")
    else:
        s = Store(request.getfixturevalue("postgres_url"))
        s.migrate()
        with s.engine.begin() as conn:  # a clean slate for each test on the shared server
            for table in (
                "job_logs",
                "events",
                "jobs",
                "container_actions",
                "containers",
                "capsules",
                "quotas",
                "quota_classes",
                "registries",
            ):
                conn.exec_driver_sql(f"DELETE FROM {table}")
    s.migrate()
    yield s
    s.close()


def make_job(**kw) -> Job:
    return Job(
        id=str(uuid.uuid4()),
        project_id=kw.pop("project_id", "p1"),
        user_id="u",
        capsule=CapsuleSpec(containers=(ContainerSpec("busybox"),)),
        **kw,
    )


def test_create_and_read_back(store):
    job, created = store.jobs.create_job(make_job(name="x"))
    assert created and store.jobs.get_job(job.id).name == "x"
    assert store.jobs.events_of(job.id)[0]["status"] == "Queued"


def test_another_projects_job_is_not_found(store):
    job, _ = store.jobs.create_job(make_job())
    with pytest.raises(NotFound):
        store.jobs.get_job(job.id, project_id="p2")


def test_submission_id_is_idempotent_per_project(store):
    a, created_a = store.jobs.create_job(make_job(submission_id="k"))
    b, created_b = store.jobs.create_job(make_job(submission_id="k"))
    c, created_c = store.jobs.create_job(make_job(submission_id="k", project_id="p2"))
    assert (created_a, created_b, created_c) == (True, False, True)
    assert a.id == b.id != c.id


def test_transition_is_compare_and_set(store):
    job, _ = store.jobs.create_job(make_job())
    placed = store.jobs.transition_job(job.id, JobStatus.PLACED, host="h1")
    assert (placed.status, placed.host) == (JobStatus.PLACED, "h1")
    with pytest.raises(InvalidTransition):
        store.jobs.transition_job(job.id, JobStatus.PLACED, host="h2")
    assert store.jobs.get_job(job.id).host == "h1"


def test_concurrent_placements_only_one_wins(store):
    job, _ = store.jobs.create_job(make_job())
    wins, errors = [], []

    def place(host: str) -> None:
        try:
            store.jobs.transition_job(job.id, JobStatus.PLACED, host=host)
            wins.append(host)
        except InvalidTransition:
            errors.append(host)

    threads = [threading.Thread(target=place, args=(f"h{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(errors) == 7
    assert store.jobs.get_job(job.id).host == wins[0]


def test_cancel_queued_is_immediate_and_terminal_cannot_be_cancelled(store):
    job, _ = store.jobs.create_job(make_job())
    assert store.jobs.request_cancel(job.id, project_id="p1").status is JobStatus.CANCELLED
    with pytest.raises(Conflict):
        store.jobs.request_cancel(job.id, project_id="p1")


def test_delete_only_terminal(store):
    job, _ = store.jobs.create_job(make_job())
    with pytest.raises(Conflict):
        store.jobs.delete_job(job.id, project_id="p1")
    store.jobs.request_cancel(job.id, project_id="p1")
    store.jobs.delete_job(job.id, project_id="p1")
    with pytest.raises(NotFound):
        store.jobs.get_job(job.id)


def test_logs_are_saved_with_the_terminal_transition(store):
    job, _ = store.jobs.create_job(make_job())
    for status in (JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING):
        store.jobs.transition_job(job.id, status)
    store.jobs.transition_job(job.id, JobStatus.SUCCEEDED, logs=(b"tail", 10), exit_code=0)
    assert store.jobs.get_logs(job.id) == (b"tail", 10)


def test_list_pages_newest_first(store):
    ids = [store.jobs.create_job(make_job())[0].id for _ in range(5)]
    page1 = store.jobs.list_jobs(project_id="p1", limit=3)
    page2 = store.jobs.list_jobs(project_id="p1", limit=3, marker=page1[-1].id)
    assert [j.id for j in page1 + page2] == list(reversed(ids))


def test_migrate_twice_is_harmless(store):
    store.migrate()
    store.ping()


def test_fifty_concurrent_admissions_against_a_quota_of_ten_admit_exactly_ten(store):
    from concurrent.futures import ThreadPoolExecutor

    from runner.containers import Container
    from runner.errors import OverQuota
    from runner.models import Resources

    limits = {"containers": 10, "cpu": -1, "memory": -1, "disk": -1}

    def admit(i: int) -> bool:
        spec = CapsuleSpec(
            containers=(ContainerSpec("busybox", resources=Resources(cpu=0.1, memory_mb=16)),)
        )
        try:
            store.containers.create_container(
                Container(
                    uuid=str(uuid.uuid4()),
                    name=f"c{i}",
                    project_id="race",
                    user_id="u",
                    capsule=spec,
                ),
                limits=limits,
            )
            return True
        except OverQuota:
            return False

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(admit, range(50)))
    assert results.count(True) == 10
    assert store.quotas.usage("race")["containers"] == 10
    assert len(store.containers.list_containers(project_id="race")) == 10


def test_jobs_ended_per_minute_in_the_window_of_a_project(store):
    outcomes = [("p1", JobStatus.SUCCEEDED, 6059.9), ("p1", JobStatus.SUCCEEDED, 6001.0)]
    outcomes += [("p1", JobStatus.FAILED, 6060.0)]
    outcomes += [("p2", JobStatus.FAILED, 6061.0), ("p1", JobStatus.CANCELLED, 5999.0)]
    for project, status, at in outcomes:
        job, _ = store.jobs.create_job(make_job(project_id=project))
        for step in (JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING):
            store.jobs.transition_job(job.id, step)
        store.jobs.transition_job(job.id, status, finished_at=at)
    store.jobs.create_job(make_job())  # still queued: no outcome
    assert sorted(store.jobs.ended_per_minute(start=6000.0, end=6100.0, project_id="p1")) == [
        ("p1", "Failed", 6060.0, 1),
        ("p1", "Succeeded", 6000.0, 2),  # the cancelled one ended before the window
    ]
    every = store.jobs.ended_per_minute(start=6001.0, end=7000.0, project_id=None)
    assert sorted(r[0] for r in every) == ["p1", "p1", "p2"]


def test_cpu_seconds_per_minute_of_a_project(store):
    def record(project: str, ended_at: float, cpu_s: float) -> dict:
        return dict(
            project_id=project,
            kind="job",
            object_id=str(uuid.uuid4()),
            name="j",
            host="h",
            runtime="runc",
            started_at=ended_at - 1,
            ended_at=ended_at,
            wall_s=1.0,
            cpus=cpu_s,
            memory_mb=64.0,
            cpu_s=cpu_s,
            memory_mb_s=64.0,
            invocations=0,
            exit_code=None,
            status="Running",
        )

    records = [
        record("cpu-a", 9001.0, 1.5),
        record("cpu-a", 9059.9, 2.0),
        record("cpu-a", 9060.0, 4.0),
    ]
    store.usage_records.record_usage([*records, record("cpu-b", 9002.0, 8.0)])
    assert sorted(
        store.usage_records.cpu_s_per_minute(start=9000.0, end=9100.0, project_id="cpu-a")
    ) == [
        ("cpu-a", 9000.0, 3.5),
        ("cpu-a", 9060.0, 4.0),
    ]


def test_a_group_commit_answers_each_submission_as_if_alone(store):
    from runner.store.job_rows import NewJob

    earlier, _ = store.jobs.create_job(make_job(submission_id="again"))
    capped = make_job(project_id="p2")
    outcomes = store.jobs.create_jobs(
        [
            NewJob(make_job(name="fresh")),
            NewJob(make_job(submission_id="again")),  # a replay: the earlier job
            NewJob(capped, max_queued=0),  # over its project's cap: refused alone
            NewJob(make_job(name="after")),
        ]
    )
    assert outcomes[0][1] and outcomes[0][0].name == "fresh"
    assert outcomes[1] == (store.jobs.get_job(earlier.id), False)
    assert isinstance(outcomes[2], Throttled)
    with pytest.raises(NotFound):
        store.jobs.get_job(capped.id)
    assert store.jobs.get_job(outcomes[3][0].id).name == "after"
