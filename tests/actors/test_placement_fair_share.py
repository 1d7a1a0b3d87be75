"""The placement actor over a real store (SQLite), without Ray: one project's backlog
does not make another project's job wait beyond a round."""

from __future__ import annotations

import uuid

from actors.placement import PlacementActor
from runner.models import CapsuleSpec, ContainerSpec, Job, Resources
from runner.settings import Settings


def _job(project: str) -> Job:
    spec = ContainerSpec("busybox", resources=Resources(cpu=1, memory_mb=64))
    return Job(
        id=str(uuid.uuid4()),
        project_id=project,
        user_id="u",
        capsule=CapsuleSpec(containers=(spec,)),
    )


def test_a_backlog_of_p1_does_not_delay_p2_beyond_a_round(sqlite_store, tmp_path):
    sqlite_store.quotas.set_quota(
        "p1", {"cpu": 0}
    )  # every p1 job waits for quota: a backlog that never drains
    backlog = [sqlite_store.jobs.create_job(_job("p1"))[0] for _ in range(100)]
    p2_job, _ = sqlite_store.jobs.create_job(_job("p2"))
    dispatched: list[str] = []
    actor = PlacementActor(
        store=sqlite_store,
        settings=Settings(data_dir=tmp_path, placement_per_project_per_round=8),
        dispatch=lambda kind, host, rec: dispatched.append(rec.id),
    )
    before = actor.decisions
    actor.heartbeat(
        {"name": "h1", "cpus": 4, "memory_mb": 4096, "runtimes": ["runc"], "docker_ok": True}
    )  # the first host: one round
    assert dispatched == [p2_job.id]
    assert actor.decisions - before <= 8 + 1  # p1's share and p2's job, not p1's whole backlog
    for _ in range(
        len(backlog) // 8 + 1
    ):  # later rounds look further into p1's queue: every job of it gets its turn
        actor.hosts_changed()  # a round
    reasons = {sqlite_store.jobs.get_job(j.id).status_reason for j in backlog}
    assert all(r.startswith("waiting for quota") for r in reasons), reasons
