"""What the SDK returns: small frozen dataclasses built from the API's JSON.

Each keeps the fields people read most, typed (statuses as enums, times as aware
``datetime``), and the whole answer as ``raw``. As openstacksdk's resources do,
``obj["field"]`` reads any field of ``raw``, so code written against the JSON keeps
working.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from runner.functions.model import InvocationStatus
from runner.models import JobStatus

T = TypeVar("T", bound="Resource")


def parse_time(value: str | None) -> datetime | None:
    """The API's ISO 8601 time (UTC offset included), or None."""
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Resource:
    """Base of the typed results: ``from_api`` picks the declared fields out of the JSON."""

    raw: dict = field(repr=False, compare=False, hash=False)  # the API's answer, as it came
    #: field name -> how its JSON value becomes the typed one
    _convert: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_api(cls: type[T], data: dict) -> T:
        values = {}
        for f in dataclasses.fields(cls):
            if f.name == "raw" or f.name not in data:  # an older server's answer: the default
                continue
            value = data[f.name]
            convert = cls._convert.get(f.name)
            values[f.name] = convert(value) if convert and value is not None else value
        return cls(raw=data, **values)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]


_TIMES = {
    "created_at": parse_time,
    "updated_at": parse_time,
    "started_at": parse_time,
    "finished_at": parse_time,
}


@dataclass(frozen=True)
class Job(Resource):
    """A job (``GET /v1/jobs/{id}``); ``raw`` has the rest (env, resources, history, tasks...)."""

    id: str = ""
    name: str = ""
    project_id: str = ""
    status: JobStatus = JobStatus.QUEUED
    status_reason: str = ""
    exit_code: int | None = None  # of the last attempt that ran
    host: str | None = None
    image: str = ""
    command: tuple[str, ...] = ()
    runtime: str = "runc"
    attempt: int = 0
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    _convert: ClassVar[dict[str, Any]] = {"status": JobStatus, "command": tuple, **_TIMES}

    def is_terminal(self) -> bool:
        return self.status.is_terminal()


@dataclass(frozen=True)
class Placement(Resource):
    """Why a job waits (``GET /v1/jobs/{id}/why``): placement's answer for it now."""

    id: str = ""
    status: JobStatus = JobStatus.QUEUED
    status_reason: str = ""
    summary: str = ""
    host: str | None = None  # the host it would go to now, if any
    reasons: dict[str, str] = field(
        default_factory=dict, hash=False
    )  # host -> why it cannot take the job
    scores: dict[str, dict[str, float]] = field(
        default_factory=dict, hash=False
    )  # host -> policy -> 0..100

    _convert: ClassVar[dict[str, Any]] = {"status": JobStatus}


@dataclass(frozen=True)
class Function(Resource):
    """A function; ``stats`` (instances, busy, queue_length, cold_starts, warm_hits) only from ``function(name)``."""

    id: str = ""
    name: str = ""
    project_id: str = ""
    version: int = 1
    image: str = ""
    handler: str | None = None
    command: tuple[str, ...] = ()
    protocol: str = ""  # python (the shim) or command
    runtime: str = "runc"
    timeout_s: float = 0.0
    concurrency: int = 1
    min_instances: int = 0
    max_instances: int = 0
    idle_ttl_s: float = 0.0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    stats: dict | None = field(default=None, hash=False)

    _convert: ClassVar[dict[str, Any]] = {"command": tuple, **_TIMES}


@dataclass(frozen=True)
class Invocation(Resource):
    """An asynchronous invocation; ``result`` is the JSON value (bytes answers are in ``raw["result_base64"]``)."""

    id: str = ""
    function: str = ""
    status: InvocationStatus = InvocationStatus.QUEUED
    status_reason: str = ""
    result: Any = field(default=None, hash=False)
    error: dict | None = field(
        default=None, hash=False
    )  # the function's error: type, message, traceback, stderr
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    _convert: ClassVar[dict[str, Any]] = {"status": InvocationStatus, **_TIMES}


@dataclass(frozen=True)
class Schedule(Resource):
    """A cron schedule; ``job`` is its job template (the body of ``POST /v1/jobs``)."""

    id: str = ""
    name: str = ""
    project_id: str = ""
    cron: str = ""
    time_zone: str = "UTC"
    concurrency_policy: str = "Allow"
    starting_deadline_s: float | None = None
    suspend: bool = False
    next_run_at: datetime | None = None  # None while suspended
    job: dict = field(default_factory=dict, hash=False)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    _convert: ClassVar[dict[str, Any]] = {"next_run_at": parse_time, **_TIMES}


@dataclass(frozen=True)
class Secret(Resource):
    """A project's secret: its name and metadata, never its value."""

    id: str = ""
    name: str = ""
    project_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    _convert: ClassVar[dict[str, Any]] = _TIMES


@dataclass(frozen=True)
class ScheduleRun(Resource):
    """One fire time of a schedule: Started (with its job), Skipped or Missed, and why."""

    scheduled_at: datetime | None = None
    outcome: str = ""
    reason: str = ""
    job_id: str | None = None
    job_status: str | None = (
        None  # a JobStatus value, or Deleted once the history limits pruned the job
    )

    _convert: ClassVar[dict[str, Any]] = {"scheduled_at": parse_time}


@dataclass(frozen=True)
class UsageRecord(Resource):
    """One usage interval (the columns of ``runner/usage.py``'s schema; times are epoch seconds)."""

    project_id: str = ""
    kind: str = ""  # job, container, capsule, instance or function
    object_id: str = ""
    name: str = ""
    host: str = ""
    started_at: float = 0.0
    ended_at: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    memory_mb_s: float = 0.0
    invocations: int = 0
    exit_code: int | None = None
    status: str = ""


@dataclass(frozen=True)
class Container(Resource):
    """A Zun container (``raw`` has Zun's other fields: cpu, memory, addresses, ...)."""

    uuid: str = ""
    name: str = ""
    status: str = ""  # Zun's: Creating, Created, Running, Stopped, Paused, Error, Deleting, ...
    status_reason: str | None = None
    image: str = ""
    host: str | None = None
