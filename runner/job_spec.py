"""A job record from its request fields (as ``POST /v1/jobs`` validated them).

Shared by the job route and the schedule actor, which stores a schedule's job
template as validated fields and builds each run's job from it.
"""

from __future__ import annotations

import uuid
from typing import Any

from runner.models import CapsuleSpec, ContainerSpec, Job, PullPolicy, Resources


def build_job(fields: dict[str, Any], *, project_id: str, user_id: str, submission_id: str | None, default_timeout_s: float | None) -> Job:
    container = ContainerSpec(
        image=fields["image"],
        command=tuple(fields.get("command") or ()),
        env=dict(fields.get("env") or {}),
        workdir=fields.get("workdir"),
        resources=Resources(**fields["resources"]),
        pull_policy=PullPolicy(fields.get("image_pull_policy", "ifnotpresent")),
    )
    network = fields.get("network", "none")
    return Job(
        id=str(uuid.uuid4()),
        project_id=project_id,
        user_id=user_id,
        name=fields.get("name", ""),
        capsule=CapsuleSpec(containers=(container,), runtime=fields.get("runtime", "runc"), network=None if network == "none" else network),
        submission_id=submission_id,
        timeout_s=fields.get("timeout_s") or default_timeout_s,
        max_retries=fields.get("max_retries", 0),
        status_reason="queued",
    )
