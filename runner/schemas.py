"""Request and response bodies of the job API, and the checks every job request passes.

Shared by the entry points: the HTTP routes (``gateway/routes/jobs.py``,
``schedules.py``) and the Python SDK over Ray (``runner/client/ray_client.py`` validates,
the ApiActor applies the operator's bounds again), so a request fails the same
way whichever way it came. HTTP-only shapes stay in the gateway.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator

from runner.caps import (
    COMMAND_ARG_CHARS,
    COMMAND_ARGS,
    ENV_KEY_CHARS,
    ENV_VALUE_CHARS,
    ENV_VARS,
    IMAGE_REF_CHARS,
    NAME_CHARS,
    PATH_CHARS,
    SHORT_CHARS,
)
from runner.errors import InvalidSpec
from runner.images.refs import check_reference
from runner.models import DEFAULT_BACKOFF_LIMIT, Job, PullPolicy
from runner.secret_refs import RegistryRef, SecretRefList, check_ref_list, ref_views
from runner.settings import Settings

# Docker's reference grammar: [registry[:port]/]name[/name...][:tag][@digest]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_RE = re.compile(
    rf"^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_image(v: str) -> str:
    """A Docker image reference, or ValueError naming it."""
    if len(v) > IMAGE_REF_CHARS or not IMAGE_RE.match(v):
        raise ValueError(f"not a valid image reference: {v[:IMAGE_REF_CHARS]!r}")
    return v


def check_env(v: dict[str, str], *, reserved_prefix: str | None = None) -> dict[str, str]:
    """Environment variable names, their lengths and how many, or ValueError naming the bad ones."""
    if len(v) > ENV_VARS:
        raise ValueError(f"at most {ENV_VARS} environment variables")
    bad = [
        k[:64]
        for k in v
        if len(k) > ENV_KEY_CHARS
        or not ENV_NAME_RE.match(k)
        or (reserved_prefix and k.startswith(reserved_prefix))
    ]
    if bad:
        raise ValueError(
            f"invalid environment variable names{f' (or reserved {reserved_prefix}*)' if reserved_prefix else ''}: {bad}"
        )
    long = [k for k, val in v.items() if len(val) > ENV_VALUE_CHARS]
    if long:
        raise ValueError(f"environment values over {ENV_VALUE_CHARS} characters: {long}")
    return v


ImageRef = Annotated[
    str, Field(min_length=1, max_length=IMAGE_REF_CHARS), AfterValidator(check_image)
]
#: a command: at most COMMAND_ARGS arguments of at most COMMAND_ARG_CHARS characters
Command = Annotated[
    list[Annotated[StrictStr, Field(max_length=COMMAND_ARG_CHARS)]], Field(max_length=COMMAND_ARGS)
]
EnvVars = Annotated[dict[StrictStr, StrictStr], AfterValidator(check_env)]


class ResourcesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu: float = Field(1.0, gt=0, le=1024, description="cores; fractions allowed")
    memory_mb: int = Field(
        512, ge=6, le=4 * 1024 * 1024, description="hard memory limit in MB (Docker's minimum is 6)"
    )
    disk_gb: float = Field(0.0, ge=0, le=100_000, description="accounted for placement")
    pids: int = Field(1024, ge=8, le=1_000_000, description="pids cgroup limit")


NFV_CAPABILITIES = Literal["NET_ADMIN", "NET_RAW", "IPC_LOCK", "SYS_NICE"]
LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62}[A-Za-z0-9])?$")


def check_labels(v: dict[str, str]) -> dict[str, str]:
    """Label keys and values: 1-64 characters of letters, digits, '.', '_', '/', '-'; at most 32."""
    if len(v) > 32:
        raise ValueError("at most 32 labels")
    bad = [
        k[:64] for k, val in v.items() if len(k) > 64 or not LABEL_KEY_RE.match(k) or len(val) > 64
    ]
    if bad:
        raise ValueError(
            f"invalid labels (keys 1-64 of letters, digits, . _ / -; values up to 64): {bad}"
        )
    return v


Labels = Annotated[dict[StrictStr, StrictStr], AfterValidator(check_labels)]


class JobResourcesIn(ResourcesIn):
    hugepages_2m_pages: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description="2 MiB huge pages, in a hugetlbfs of the job's own at /dev/hugepages (needs memory_mb; rule job:create:hugepages)",
    )
    hugepages_1g_pages: int = Field(
        0,
        ge=0,
        le=4096,
        description="1 GiB huge pages, at /dev/hugepages1G (needs memory_mb; rule job:create:hugepages)",
    )


class JobIn(BaseModel):
    """POST /v1/jobs"""

    model_config = ConfigDict(extra="forbid")

    image: ImageRef
    command: Command = []
    env: EnvVars = {}
    workdir: str | None = Field(None, max_length=PATH_CHARS)
    resources: JobResourcesIn = JobResourcesIn()
    runtime: Literal["runc", "runsc", "vm", "nova"] = Field(
        "runc",
        description="runc, runsc (gVisor), vm (a QEMU virtual machine per job) or nova (a Nova server per job)",
    )
    timeout_s: float | None = Field(
        None, gt=0, description="per attempt; the container is killed past it"
    )
    max_retries: int = Field(0, ge=0, le=100)
    name: str = Field("", max_length=NAME_CHARS)
    submission_id: str | None = Field(
        None,
        min_length=1,
        max_length=SHORT_CHARS,
        description="idempotency key (or the Idempotency-Key header)",
    )
    image_pull_policy: Literal["ifnotpresent", "always", "never"] = "ifnotpresent"
    network: Literal["none", "project"] = Field(
        "none", description="none, or the project's own network (fenced off from the host)"
    )
    cpu_policy: Literal["shared", "dedicated"] = Field(
        "shared", description="dedicated: whole cpus pinned on one NUMA node (NFV)"
    )
    completions: int = Field(
        1,
        ge=1,
        le=1000,
        description="> 1: a job array of that many indexed tasks (JOB_INDEX in their environment)",
    )
    parallelism: int = Field(
        1, ge=1, le=100, description="tasks of an array running at once, at most"
    )
    backoff_limit: int = Field(
        DEFAULT_BACKOFF_LIMIT,
        ge=0,
        le=100,
        description="retries allowed across all tasks of an array",
    )
    capabilities: Annotated[list[NFV_CAPABILITIES], Field(max_length=4)] = Field(
        [], description="added Linux capabilities (access rule job:create:capabilities)"
    )
    sysctls: Annotated[
        dict[
            Annotated[StrictStr, Field(max_length=SHORT_CHARS)],
            Annotated[StrictStr, Field(max_length=SHORT_CHARS)],
        ],
        Field(max_length=32),
    ] = Field({}, description="namespaced sysctls from the operator's allowed list")
    labels: Labels = Field({}, description="what other jobs' affinity and anti_affinity match")
    affinity: Labels = Field(
        {}, description="only on a host running a job with each of these labels"
    )
    anti_affinity: Labels = Field(
        {}, description="never on a host running a job with any of these labels"
    )
    secrets: SecretRefList = []
    registry: RegistryRef = None

    @model_validator(mode="after")
    def _runsc_has_no_network(self) -> JobIn:
        check_ref_list(self.secrets, self.env)
        if self.runtime in ("vm", "nova") and (self.secrets or self.registry):
            raise ValueError(f"runtime {self.runtime} takes no secrets or registry yet")
        if self.runtime in ("runsc", "vm", "nova") and self.network != "none":
            raise ValueError(
                f"network: runtime {self.runtime} runs without a network on these hosts"
            )
        if self.runtime in ("vm", "nova") and (
            self.capabilities
            or self.sysctls
            or self.cpu_policy == "dedicated"
            or self.resources.hugepages_2m_pages
            or self.resources.hugepages_1g_pages
        ):
            raise ValueError(
                f"runtime: {self.runtime} takes no capabilities, sysctls, dedicated cpus or huge pages"
            )
        if self.cpu_policy == "dedicated" and (
            self.resources.cpu != int(self.resources.cpu) or self.resources.cpu < 1
        ):
            raise ValueError(
                f"cpu_policy: dedicated needs a whole number of cpus, not {self.resources.cpu:g}"
            )
        if (
            self.resources.hugepages_2m_pages or self.resources.hugepages_1g_pages
        ) and "memory_mb" not in self.resources.model_fields_set:
            raise ValueError("resources.memory_mb: huge pages need an explicit memory request")
        return self


def rules_needed(body: JobIn) -> list[str]:
    """The access rules a job request needs beyond submitting a job: one per privileged field it sets."""
    rules = []
    if "runtime" in body.model_fields_set:
        rules.append("job:create:runtime")
    if PullPolicy(body.image_pull_policy) is not PullPolicy.IF_NOT_PRESENT:
        rules.append("job:create:image_pull_policy")
    if body.capabilities:
        rules.append("job:create:capabilities")
    if body.resources.hugepages_2m_pages or body.resources.hugepages_1g_pages:
        rules.append("job:create:hugepages")
    if body.sysctls:
        rules.append("job:create:sysctls")
    return rules


def check_bounds(body: JobIn, settings: Settings) -> None:
    """The operator's bounds on a job, for every caller: registries, sysctls, the longest timeout (400/403)."""
    check_reference(body.image, allowed_registries=settings.allowed_registries, field="image")
    refused = sorted(set(body.sysctls) - set(settings.allowed_sysctls))
    if refused:
        raise InvalidSpec(
            f"not allowed: {refused}; allowed: {list(settings.allowed_sysctls)}", field="sysctls"
        )
    if body.timeout_s is not None and body.timeout_s > settings.max_timeout_s:
        raise InvalidSpec(f"at most {settings.max_timeout_s:g} s", field="timeout_s")


def iso_time(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def job_out(job: Job, *, history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The public shape of a job."""
    main = job.capsule.containers[0]
    out = {
        "id": job.id,
        "name": job.name,
        "project_id": job.project_id,
        "user_id": job.user_id,
        "status": job.status.value,
        "status_reason": job.status_reason,
        "exit_code": job.exit_code,
        "host": job.host,
        "image": main.image,
        "command": list(main.command),
        "env": dict(main.env),
        "workdir": main.workdir,
        "resources": dataclasses.asdict(main.resources),
        "runtime": job.capsule.runtime,
        "network": job.capsule.network or "none",
        "cpu_policy": job.capsule.cpu_policy,
        "capabilities": list(main.capabilities),
        "sysctls": dict(main.sysctls),
        "secrets": ref_views(main.secrets),
        "registry_id": main.registry_id,
        "labels": dict(job.capsule.labels),
        "affinity": dict(job.capsule.affinity),
        "anti_affinity": dict(job.capsule.anti_affinity),
        "image_pull_policy": main.pull_policy.value,
        "timeout_s": job.timeout_s,
        "max_retries": job.max_retries,
        "attempt": job.attempt,
        "submission_id": job.submission_id,
        "created_at": iso_time(job.created_at),
        "updated_at": iso_time(job.updated_at),
        "started_at": iso_time(job.started_at),
        "finished_at": iso_time(job.finished_at),
        "links": [
            {"rel": "self", "href": f"/v1/jobs/{job.id}"},
            {"rel": "logs", "href": f"/v1/jobs/{job.id}/logs"},
        ],
    }
    if job.completions > 1 or job.parent_id:
        out.update(
            completions=job.completions,
            parallelism=job.parallelism,
            backoff_limit=job.backoff_limit,
            retries_used=job.retries_used,
            parent_id=job.parent_id,
            task_index=job.task_index,
        )
    if history is not None:
        out["history"] = [
            {"at": iso_time(h["at"]), "status": h["status"], "reason": h["reason"]} for h in history
        ]
    return out


def invocation_out(inv: dict[str, Any]) -> dict[str, Any]:
    """The public shape of a function invocation."""
    out = {
        "id": inv["uuid"],
        "function": inv["function_name"],
        "status": inv["status"],
        "status_reason": inv["status_reason"],
        "created_at": iso_time(inv["created_at"]),
        "started_at": iso_time(inv["started_at"]),
        "finished_at": iso_time(inv["finished_at"]),
        "error": inv["error"],
        "links": [{"rel": "self", "href": f"/v1/invocations/{inv['uuid']}"}],
    }
    if inv["result"] is not None:
        if inv["result_kind"] == "json":
            out["result"] = json.loads(inv["result"])
        else:
            out["result_base64"] = base64.b64encode(inv["result"]).decode()
    return out
