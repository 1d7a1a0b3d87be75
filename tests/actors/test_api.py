"""The ApiActor (the SDK's entrance over Ray) as a plain class: no Ray, a real store."""

from __future__ import annotations

import pytest

from actors.api import ApiActor
from runner.errors import InvalidSpec
from runner.schemas import JobIn
from runner.settings import Settings
from runner.store import Store


@pytest.fixture
def api(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'z.db'}")
    store.migrate()
    placed: list[str] = []
    actor = ApiActor(
        store=store,
        settings=Settings(data_dir=tmp_path, max_timeout_s=60),
        place=placed.append,
        signal_cancel=lambda host, job_id: None,
        node_logs=lambda host, job_id: b"",
        run_async=lambda inv_id: None,
    )
    actor.placed = placed
    yield actor
    store.close()


def _fields(**kw) -> dict:  # noqa: ANN003
    return JobIn.model_validate({"image": "busybox:latest", "command": ["true"], **kw}).model_dump()


def test_a_job_within_the_bounds_is_accepted_and_placed(api):
    job = api.submit_job("p1", "u1", _fields(timeout_s=30))
    assert api.placed == [job.id] and job.project_id == "p1"


def test_the_operators_bounds_hold_over_ray_too(api):
    """The same bounds as POST /v1/jobs (check_bounds), not only the SDK's client-side schema."""
    with pytest.raises(InvalidSpec) as refused:
        api.submit_job("p1", "u1", _fields(timeout_s=3600))
    assert refused.value.field == "timeout_s" and api.placed == []
