"""The placement actor over a real store (SQLite), without Ray: what happens to the work of a
host that stops sending heartbeats, and to the reports it sends when it comes back."""

from __future__ import annotations

import uuid

import pytest

from actors.placement import PlacementActor
from runner.containers import Capsule, Container, ContainerStatus
from runner.errors import InvalidTransition
from runner.job_spec import build_array
from runner.models import ARRAY_TRANSITIONS, CapsuleSpec, ContainerSpec, Job, JobStatus, Resources
from runner.settings import Settings

S = JobStatus
SPEC = CapsuleSpec(containers=(ContainerSpec("busybox", resources=Resources(cpu=1, memory_mb=64)),))


class Cluster:
    """A placement actor, its clock and what it dispatched, with hosts that heartbeat on demand."""

    def __init__(self, store, tmp_path) -> None:
        self.now = 1_000.0
        self.dispatched: list[tuple[str, str]] = []  # (object id, host)
        self.cancelled: list[tuple[str, str]] = []  # (host, job id)
        self.actor = PlacementActor(
            store=store,
            settings=Settings(data_dir=tmp_path, host_down_after_s=10.0),
            clock=lambda: self.now,
            dispatch=lambda kind, host, rec: self.dispatched.append(
                (getattr(rec, "id", None) or rec.uuid, host)
            ),
            cancel=lambda host, job_id: self.cancelled.append((host, job_id)),
        )

    def beat(self, *hosts: str) -> None:
        for h in hosts:
            self.actor.heartbeat(
                {"name": h, "cpus": 8, "memory_mb": 8192, "runtimes": ["runc"], "docker_ok": True}
            )

    def lose_h1(self) -> None:
        """h1 falls silent past host_down_after_s while h2 keeps beating."""
        self.now += 11
        self.beat("h2")
        self.actor.tick()


@pytest.fixture
def cluster(sqlite_store, tmp_path) -> Cluster:
    c = Cluster(sqlite_store, tmp_path)
    c.beat("h1")  # only h1 at first: everything submitted lands there
    return c


def _submit(store, cluster: Cluster, *, max_retries: int = 0) -> Job:
    job, _ = store.jobs.create_job(
        Job(
            id=str(uuid.uuid4()), project_id="p", user_id="u", capsule=SPEC, max_retries=max_retries
        )
    )
    cluster.actor.submit(job.id)
    return store.jobs.get_job(job.id)


def _start(store, job: Job, *, attempt: int = 1) -> Job:
    """What the node does: Starting (a new attempt), then Running."""
    store.jobs.transition_job(job.id, S.STARTING, attempt=attempt, fence=(job.host, job.attempt))
    return store.jobs.transition_job(job.id, S.RUNNING, fence=(job.host, attempt))


def test_placed_and_running_jobs_of_a_lost_host_run_again_elsewhere(sqlite_store, cluster):
    placed = _submit(sqlite_store, cluster)
    running = _start(sqlite_store, _submit(sqlite_store, cluster))
    assert placed.host == running.host == "h1"
    cluster.beat("h2")
    cluster.lose_h1()
    for job in (placed, running):
        now = sqlite_store.jobs.get_job(job.id)
        assert (now.status, now.host) == (S.PLACED, "h2")
        assert (job.id, "h2") in cluster.dispatched
        assert "host h1 lost; placing again" in [
            e["reason"] for e in sqlite_store.jobs.events_of(job.id)
        ]


def test_a_job_without_attempts_left_fails_and_an_ended_one_is_left_alone(sqlite_store, cluster):
    spent = _start(
        sqlite_store, _submit(sqlite_store, cluster), attempt=2
    )  # its extra attempt already used
    ended = _start(sqlite_store, _submit(sqlite_store, cluster))
    sqlite_store.jobs.transition_job(
        ended.id, S.SUCCEEDED, exit_code=0
    )  # its node has not reported yet: the claim stays
    cluster.beat("h2")
    cluster.lose_h1()
    failed = sqlite_store.jobs.get_job(spent.id)
    assert (failed.status, failed.status_reason) == (
        S.FAILED,
        "host h1 lost and no attempts are left",
    )
    assert failed.finished_at == cluster.now
    assert sqlite_store.jobs.get_job(ended.id).status is S.SUCCEEDED
    assert not any(h == "h2" for _, h in cluster.dispatched)


def test_a_stale_hosts_finished_report_keeps_the_new_claim(sqlite_store, cluster):
    job = _start(sqlite_store, _submit(sqlite_store, cluster))
    cluster.beat("h2")
    cluster.lose_h1()
    assert cluster.actor.claims[job.id].host == "h2"
    cluster.actor.finished(
        job.id, "job", host="h1"
    )  # h1 comes back and reports its old attempt's end
    assert cluster.actor.claims[job.id].host == "h2"
    cluster.actor.finished(job.id, "job", host="h2")
    assert job.id not in cluster.actor.claims


def test_the_stale_nodes_outcome_is_fenced_off_in_the_store(sqlite_store, cluster):
    job = _start(sqlite_store, _submit(sqlite_store, cluster))
    cluster.beat("h2")
    cluster.lose_h1()
    again = _start(sqlite_store, sqlite_store.jobs.get_job(job.id), attempt=2)
    with pytest.raises(InvalidTransition):  # h1's attempt 1 records its failure: refused
        sqlite_store.jobs.transition_job(job.id, S.FAILED, fence=("h1", 1))
    assert sqlite_store.jobs.get_job(job.id).status is S.RUNNING
    assert (
        sqlite_store.jobs.transition_job(job.id, S.SUCCEEDED, fence=("h2", again.attempt)).status
        is S.SUCCEEDED
    )


def _array(
    store, cluster: Cluster, *, completions: int, backoff_limit: int = 6
) -> tuple[Job, list[Job]]:
    fields = {
        "image": "busybox",
        "resources": {"cpu": 1, "memory_mb": 64},
        "completions": completions,
        "parallelism": completions,
        "backoff_limit": backoff_limit,
    }
    parent, tasks = build_array(
        fields, project_id="p", user_id="u", submission_id=None, default_timeout_s=None
    )
    store.jobs.create_job(parent, tasks=tasks)
    for t in tasks:
        cluster.actor.submit(t.id)
    store.jobs.transition_job(
        parent.id, S.RUNNING, table=ARRAY_TRANSITIONS, only_from=[S.QUEUED]
    )  # its first task started
    return parent, [store.jobs.get_job(t.id) for t in tasks]


def test_an_array_task_lost_for_good_fails_the_array_and_cancels_the_others(sqlite_store, cluster):
    parent, (lost, other) = _array(sqlite_store, cluster, completions=2)
    _start(
        sqlite_store, lost, attempt=2
    )  # a task has no retries of its own: its extra attempt is spent
    _start(sqlite_store, other)
    cluster.beat("h2")
    cluster.lose_h1()
    array = sqlite_store.jobs.get_job(parent.id)
    assert array.status is S.FAILED, array.status_reason
    assert array.status_reason.startswith("task 0 Failed (host h1 lost and no attempts are left)")
    assert (
        sqlite_store.jobs.get_job(other.id).status is S.CANCELLED
    )  # lost with h1 too: not placed again
    assert other.id not in cluster.actor.pending and not any(
        h == "h2" for _, h in cluster.dispatched
    )


def test_an_array_whose_tasks_ended_with_one_cancelled_is_cancelled(sqlite_store, cluster):
    parent, (done, cancelled) = _array(sqlite_store, cluster, completions=2)
    for t in (done, cancelled):
        _start(sqlite_store, t)
    sqlite_store.jobs.transition_job(done.id, S.SUCCEEDED, exit_code=0)
    cluster.actor.finished(done.id, "job", host="h1")
    assert sqlite_store.jobs.get_job(parent.id).status is S.RUNNING  # one task still runs
    sqlite_store.jobs.request_cancel(
        cancelled.id, project_id="p"
    )  # its owner cancels that task alone
    sqlite_store.jobs.transition_job(
        cancelled.id, S.CANCELLED, reason="cancelled by user"
    )  # what its node records
    cluster.actor.finished(cancelled.id, "job", host="h1")
    array = sqlite_store.jobs.get_job(parent.id)
    assert (array.status, array.status_reason) == (S.CANCELLED, "task(s) 1 cancelled")


def _container(store, cluster: Cluster, restart_policy: dict | None) -> Container:
    c = Container(
        uuid=str(uuid.uuid4()),
        name="c",
        project_id="p",
        user_id="u",
        capsule=SPEC,
        spec={"restart_policy": restart_policy} if restart_policy else {},
    )
    store.containers.create_container(c)
    cluster.actor.submit(c.uuid, kind="container")
    return c


def _capsule(store, cluster: Cluster, restart_policy: str) -> Capsule:
    c = Capsule(
        uuid=str(uuid.uuid4()),
        name="cap",
        project_id="p",
        user_id="u",
        capsule=SPEC,
        restart_policy=restart_policy,
    )
    store.capsules.create_capsule(c)
    cluster.actor.submit(c.uuid, kind="capsule")
    return c


def test_zun_objects_with_a_restart_policy_move_and_the_others_become_unknown(
    sqlite_store, cluster
):
    moving = [
        _container(sqlite_store, cluster, {"Name": n, "MaximumRetryCount": "0"})
        for n in ("always", "unless-stopped", "on-failure")
    ]
    staying = [
        _container(sqlite_store, cluster, None),
        _container(sqlite_store, cluster, {"Name": "no", "MaximumRetryCount": "0"}),
    ]
    cap_moving, cap_staying = (
        _capsule(sqlite_store, cluster, "on-failure"),
        _capsule(sqlite_store, cluster, "no"),
    )
    cluster.beat("h2")
    cluster.lose_h1()
    for c in moving:
        now = sqlite_store.containers.get_container(c.uuid)
        assert (now.status, now.host) == (ContainerStatus.CREATING, "h2"), now.status_reason
        assert (c.uuid, "h2") in cluster.dispatched
    for c in staying:
        assert sqlite_store.containers.get_container(c.uuid).status is ContainerStatus.UNKNOWN
    assert (
        sqlite_store.capsules.get_capsule(cap_moving.uuid).host == "h2"
        and (cap_moving.uuid, "h2") in cluster.dispatched
    )
    assert sqlite_store.capsules.get_capsule(cap_staying.uuid).status is ContainerStatus.UNKNOWN


@pytest.mark.parametrize(
    ("backoff_limit", "retries"),
    [pytest.param(0, 0, id="backoff-limit-0-no-retry"), pytest.param(2, 2, id="two-shared")],
)
def test_an_arrays_tasks_share_its_backoff_limit(sqlite_store, cluster, backoff_limit, retries):
    parent, _ = _array(sqlite_store, cluster, completions=3, backoff_limit=backoff_limit)
    taken = [
        sqlite_store.jobs.take_retry(parent.id) for _ in range(retries + 2)
    ]  # what failing tasks ask, one by one
    assert taken == [True] * retries + [False, False]
    assert sqlite_store.jobs.get_job(parent.id).retries_used == retries
