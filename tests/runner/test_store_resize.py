"""A resize is admitted against the project's quota in one transaction, as a creation is."""

from __future__ import annotations

import threading

import pytest

from runner.containers import Container, ContainerStatus, InvalidState
from runner.errors import NotFound, OverQuota
from runner.models import CapsuleSpec, ContainerSpec, Resources

LIMITS = {"containers": 10, "cpu": 2, "memory": 1024, "disk": 10}


def _make(store, uuid: str, cpu: float, memory_mb: int = 128, status=ContainerStatus.RUNNING):
    spec = ContainerSpec("busybox", resources=Resources(cpu=cpu, memory_mb=memory_mb))
    c = Container(uuid=uuid, name=uuid, project_id="p1", user_id="u", capsule=CapsuleSpec((spec,)))
    store.containers.create_container(c, limits=LIMITS)
    store.containers.transition_container(uuid, status)


def test_growth_is_admitted_up_to_the_limit_and_no_further(sqlite_store):
    _make(sqlite_store, "a", 1.0)
    with pytest.raises(OverQuota, match=r"\['cpu'\]"):
        sqlite_store.containers.resize_container("a", cpu=2.5, memory_mb=None, limits=LIMITS)
    assert sqlite_store.containers.get_container("a").resources.cpu == 1.0
    before, after = sqlite_store.containers.resize_container(
        "a", cpu=2.0, memory_mb=512, limits=LIMITS
    )
    assert (before.resources.cpu, before.resources.memory_mb) == (1.0, 128)
    assert (after.resources.cpu, after.resources.memory_mb) == (2.0, 512)
    assert sqlite_store.quotas.usage("p1")["cpu"] == 2.0


def test_shrinking_or_growing_something_else_passes_a_lowered_limit(sqlite_store):
    _make(sqlite_store, "a", 2.0)
    lowered = {**LIMITS, "cpu": 1}
    _, after = sqlite_store.containers.resize_container(
        "a", cpu=None, memory_mb=256, limits=lowered
    )
    assert after.resources.memory_mb == 256
    _, after = sqlite_store.containers.resize_container(
        "a", cpu=1.5, memory_mb=None, limits=lowered
    )
    assert after.resources.cpu == 1.5


def test_two_resizes_at_once_cannot_both_take_the_last_of_the_quota(sqlite_store):
    _make(sqlite_store, "a", 0.5)
    _make(sqlite_store, "b", 0.5)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def grow(uuid: str) -> None:
        barrier.wait()
        try:
            sqlite_store.containers.resize_container(uuid, cpu=1.5, memory_mb=None, limits=LIMITS)
            outcomes.append("resized")
        except OverQuota:
            outcomes.append("refused")

    threads = [threading.Thread(target=grow, args=(u,)) for u in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "resized"]
    assert sqlite_store.quotas.usage("p1")["cpu"] == 2.0


@pytest.mark.parametrize(
    "status", [ContainerStatus.CREATING, ContainerStatus.ERROR, ContainerStatus.DELETING]
)
def test_states_zun_refuses_are_409_and_a_missing_container_404(sqlite_store, status):
    _make(sqlite_store, "a", 0.5, status=status)
    with pytest.raises(InvalidState):
        sqlite_store.containers.resize_container("a", cpu=1.0, memory_mb=None, limits=LIMITS)
    with pytest.raises(NotFound):
        sqlite_store.containers.resize_container("zzz", cpu=1.0, memory_mb=None, limits=LIMITS)
