"""What the Docker driver takes and gives besides a capsule spec: a long-running container's
options, and a container found by its labels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LongRunning:
    """Options of a container that stays up (a Zun container), beyond a job's."""

    restart_policy: dict | None = None  # Docker's {"Name": ..., "MaximumRetryCount": n}
    auto_remove: bool = False
    entrypoint: list[str] | None = None
    hostname: str | None = None
    tty: bool = False
    interactive: bool = False
    privileged: bool = False
    user_labels: dict[str, str] | None = None
    healthcheck: dict | None = None  # Docker's Healthcheck (Test, Interval, ...)
    volumes: list[str] | None = None  # binds "name:/path[:ro]" of named volumes
    cpuset_cpus: str | None = None  # pinned (dedicated) or the unpinned cpus (shared)
    cpuset_mems: str | None = None  # the NUMA node of pinned cpus


@dataclass(frozen=True, slots=True)
class ManagedContainer:
    """A container found by its labels."""

    id: str
    labels: dict[str, str]
    state: str  # created | running | exited | ...
    exit_code: int | None
