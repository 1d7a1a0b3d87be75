"""Every kind's status changes through one compare-and-set transition that writes its history
event in the same transaction; an existing store is carried over by the migration."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from runner.containers import Capsule, Container, ContainerStatus
from runner.functions.model import FunctionSpec, Instance, InstanceStatus
from runner.models import CapsuleSpec, ContainerSpec, JobStatus
from runner.store import Store, base

C = ContainerStatus
SPEC = CapsuleSpec(containers=(ContainerSpec("busybox"),))


def _container(store: Store) -> Container:
    return store.containers.create_container(
        Container(uuid=str(uuid.uuid4()), name="web", project_id="p1", user_id="u", capsule=SPEC)
    )


def _statuses(store: Store, object_id: str) -> list[str]:
    return [e["status"] for e in store.containers.events_of(object_id)]


def test_a_containers_history_is_written_with_each_change(sqlite_store):
    c = _container(sqlite_store)
    sqlite_store.containers.transition_container(c.uuid, C.CREATED, reason="")
    sqlite_store.containers.transition_container(c.uuid, C.RUNNING, reason="")
    sqlite_store.containers.transition_container(c.uuid, C.RUNNING, reason="still")  # no change
    sqlite_store.containers.transition_container(c.uuid, C.STOPPED, reason="exited with 3")
    assert _statuses(sqlite_store, c.uuid) == ["Creating", "Created", "Running", "Stopped"]
    assert sqlite_store.containers.events_of(c.uuid)[-1]["reason"] == "exited with 3"


def test_an_engine_sync_cannot_undo_a_deletion(sqlite_store):
    c = _container(sqlite_store)
    sqlite_store.containers.transition_container(c.uuid, C.RUNNING, reason="")
    sqlite_store.containers.transition_container(c.uuid, C.DELETING)
    assert sqlite_store.containers.transition_container(c.uuid, C.STOPPED, reason="") is None
    assert sqlite_store.containers.get_container(c.uuid).status is C.DELETING
    failed = sqlite_store.containers.transition_container(c.uuid, C.ERROR, reason="engine said no")
    assert failed is not None and failed.status_reason == "engine said no"


def test_a_capsule_being_deleted_is_not_followed_back_to_running(sqlite_store):
    cap = sqlite_store.capsules.create_capsule(
        Capsule(uuid=str(uuid.uuid4()), name="pod", project_id="p1", user_id="u", capsule=SPEC)
    )
    sqlite_store.capsules.transition_capsule(cap.uuid, C.RUNNING, reason="")
    sqlite_store.capsules.transition_capsule(cap.uuid, C.DELETING)
    assert sqlite_store.capsules.transition_capsule(cap.uuid, C.RUNNING, members={}) is None
    assert [e["status"] for e in sqlite_store.capsules.events_of(cap.uuid)] == [
        "Creating",
        "Running",
        "Deleting",
    ]


def test_an_instance_being_stopped_is_never_served_again(sqlite_store):
    inst = sqlite_store.functions.create_instance(
        Instance(
            uuid=str(uuid.uuid4()),
            function_uuid=str(uuid.uuid4()),
            project_id="p1",
            version=1,
            spec=FunctionSpec(image="busybox", command=("cat",)),
        )
    )
    functions = sqlite_store.functions
    assert functions.transition_instance(inst.uuid, InstanceStatus.STOPPING, reason="stopping")
    assert functions.transition_instance(inst.uuid, InstanceStatus.READY, reason="up") is None
    assert functions.get_instance(inst.uuid).status is InstanceStatus.STOPPING


def test_a_status_never_changes_outside_a_transition(sqlite_store):
    c = _container(sqlite_store)
    with pytest.raises(TypeError):
        sqlite_store.containers.update_container(c.uuid, status=C.RUNNING)
    with pytest.raises(TypeError):
        sqlite_store.capsules.update_capsule(c.uuid, status=C.RUNNING)
    with pytest.raises(TypeError):
        sqlite_store.functions.update_instance(c.uuid, status=InstanceStatus.READY)
    with pytest.raises(TypeError):
        sqlite_store.jobs.update_job(c.uuid, status=JobStatus.RUNNING)


def test_history_is_bounded_per_object_and_goes_with_it(sqlite_store, monkeypatch):
    monkeypatch.setattr(base, "EVENTS_PER_OBJECT", 5)
    c = _container(sqlite_store)
    for _ in range(10):  # a crash loop
        sqlite_store.containers.transition_container(c.uuid, C.RUNNING, reason="")
        sqlite_store.containers.transition_container(c.uuid, C.STOPPED, reason="crashed")
    assert _statuses(sqlite_store, c.uuid) == [
        "Stopped",
        "Running",
        "Stopped",
        "Running",
        "Stopped",
    ]
    sqlite_store.containers.delete_container(c.uuid)
    assert sqlite_store.containers.events_of(c.uuid) == []


def _upgrade(url: str, revision: str) -> None:
    cfg = Config(str(Path(base.__file__).with_name("alembic.ini")))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def test_the_migration_carries_a_stores_job_history_over(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _upgrade(url, "0011")  # the schema of the previous release, filled as it would have been
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO jobs (id, project_id, user_id, name, status, status_reason, capsule, "
            "max_retries, attempt, cancel_requested, trace_context, created_at, updated_at, "
            "completions, parallelism, backoff_limit, retries_used) VALUES ('j1', 'p1', 'u', "
            "'old', 'Succeeded', 'exited with 0', ?, 0, 1, 0, '{}', 1.0, 3.0, 1, 1, 0, 0)",
            (sa.types.JSON().bind_processor(engine.dialect)(SPEC.to_dict()),),
        )
        for at, status, reason in ((1.0, "Queued", "submitted"), (2.0, "Running", "started")):
            conn.exec_driver_sql(
                "INSERT INTO job_events (job_id, at, status, reason) VALUES ('j1', ?, ?, ?)",
                (at, status, reason),
            )
    engine.dispose()

    store = Store(url)
    store.migrate()
    assert [(e["status"], e["reason"]) for e in store.jobs.events_of("j1")] == [
        ("Queued", "submitted"),
        ("Running", "started"),
    ]
    assert store.jobs.get_job("j1").status is JobStatus.SUCCEEDED
    store.jobs.delete_job("j1", project_id="p1")
    assert store.jobs.events_of("j1") == []
    store.close()
