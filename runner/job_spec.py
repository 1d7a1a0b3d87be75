"""A job record from its request fields (as ``POST /v1/jobs`` validated them).

Shared by the job route and the schedule actor, which stores a schedule's job
template as validated fields and builds each run's job from it.
"""

from __future__ import annotations

import uuid
from typing import Any

from runner.models import (
    DEFAULT_BACKOFF_LIMIT,
    CapsuleSpec,
    ContainerSpec,
    Job,
    PullPolicy,
    Resources,
    SecretRef,
)


def build_job(
    fields: dict[str, Any],
    *,
    project_id: str,
    user_id: str,
    submission_id: str | None,
    default_timeout_s: float | None,
    task_index: int | None = None,
    parent_id: str | None = None,
) -> Job:
    env = dict(fields.get("env") or {})
    if task_index is not None:
        env["JOB_INDEX"] = str(task_index)
    container = ContainerSpec(
        image=fields["image"],
        command=tuple(fields.get("command") or ()),
        env=env,
        workdir=fields.get("workdir"),
        resources=Resources(**fields["resources"]),
        pull_policy=PullPolicy(fields.get("image_pull_policy", "ifnotpresent")),
        capabilities=tuple(fields.get("capabilities") or ()),
        sysctls=dict(fields.get("sysctls") or {}),
        secrets=tuple(SecretRef(**r) for r in fields.get("secrets") or ()),
        registry_id=fields.get("registry_id"),
    )
    network = fields.get("network", "none")
    return Job(
        id=str(uuid.uuid4()),
        project_id=project_id,
        user_id=user_id,
        name=fields.get("name", ""),
        capsule=CapsuleSpec(
            containers=(container,),
            runtime=fields.get("runtime", "runc"),
            network=None if network == "none" else network,
            cpu_policy=fields.get("cpu_policy", "shared"),
            labels=dict(fields.get("labels") or {}),
            affinity=tuple(sorted((fields.get("affinity") or {}).items())),
            anti_affinity=tuple(sorted((fields.get("anti_affinity") or {}).items())),
        ),
        submission_id=submission_id,
        timeout_s=fields.get("timeout_s") or default_timeout_s,
        max_retries=0
        if parent_id
        else fields.get("max_retries", 0),  # an array's tasks share its backoff_limit
        status_reason="queued",
        completions=fields.get("completions", 1),
        parallelism=fields.get("parallelism", 1),
        backoff_limit=fields.get("backoff_limit", DEFAULT_BACKOFF_LIMIT),
        parent_id=parent_id,
        task_index=task_index,
    )


def build_array(fields: dict[str, Any], **common: Any) -> tuple[Job, list[Job]]:
    """An array's parent and its ``completions`` indexed tasks."""
    parent = build_job(fields, **common)
    tasks = [
        build_job(
            {**fields, "name": f"{fields.get('name') or 'task'}-{i}"},
            **{**common, "submission_id": None},
            task_index=i,
            parent_id=parent.id,
        )
        for i in range(parent.completions)
    ]
    return parent, tasks
