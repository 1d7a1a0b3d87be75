"""Request and response bodies of the function API."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    field_validator,
    model_validator,
)

from runner.caps import CODE_CHARS, FUNCTION_NAME_CHARS, SHORT_CHARS
from runner.schemas import Command, ImageRef, ResourcesIn, check_env, iso_time
from runner.secret_refs import RegistryRef, SecretRefList, check_ref_list, ref_views
from runner.functions.model import Function

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
MAX_TIMEOUT_S = 3600.0
HANDLER_RE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)


class FunctionResourcesIn(ResourcesIn):
    cpu: float = Field(0.5, gt=0, le=64)
    memory_mb: int = Field(128, ge=6, le=64 * 1024)
    pids: int = Field(256, ge=8, le=100_000)


class FunctionFields(BaseModel):
    """What POST creates and PATCH changes (PATCH: only the fields sent)."""

    model_config = ConfigDict(extra="forbid")

    image: ImageRef
    handler: str | None = Field(
        None,
        max_length=SHORT_CHARS,
        description="module:function, served by the Python shim (images with python3)",
    )
    code: str | None = Field(
        None, max_length=CODE_CHARS, description="inline Python source of the handler's module"
    )
    command: Command = Field([], description="any image: payload on stdin, result from stdout")
    runtime: Literal["runc"] = "runc"
    resources: FunctionResourcesIn = FunctionResourcesIn()
    env: Annotated[
        dict[StrictStr, StrictStr],
        AfterValidator(lambda v: check_env(v, reserved_prefix="ZUNRAY_")),
    ] = {}
    timeout_s: float = Field(
        30.0,
        gt=0,
        le=MAX_TIMEOUT_S,
        description="per invocation; past it: 504 and the instance is replaced",
    )
    concurrency: int = Field(
        1, ge=1, le=1000, description="invocations one instance serves at once"
    )
    min_instances: int = Field(0, ge=0, description="kept warm even when idle")
    max_instances: int = Field(10, ge=1)
    idle_ttl_s: float = Field(
        300.0,
        ge=1,
        le=7 * 24 * 3600,
        description="an idle instance above min_instances goes after this",
    )
    image_pull_policy: Literal["ifnotpresent", "always", "never"] = "ifnotpresent"
    secrets: SecretRefList = []
    registry: RegistryRef = None

    @model_validator(mode="after")
    def _one_protocol(self) -> FunctionFields:
        check_ref_list(self.secrets, self.env)
        if any(r.env and r.env.startswith("ZUNRAY_") for r in self.secrets):
            raise ValueError("secrets: environment names ZUNRAY_* are reserved")
        if bool(self.handler) == bool(self.command):
            raise ValueError(
                "give exactly one of handler (module:function, Python shim) or command (any image)"
            )
        if self.code is not None and not self.handler:
            raise ValueError("code: inline code needs a handler naming its module and function")
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances: {self.min_instances} is more than max_instances {self.max_instances}"
            )
        return self

    @field_validator("handler")
    @classmethod
    def _handler(cls, v: str | None) -> str | None:
        if v is not None and not HANDLER_RE.match(v):
            raise ValueError(f"not module:function: {v!r}")
        return v


class FunctionIn(FunctionFields):
    """POST /v1/functions"""

    name: str = Field(..., max_length=FUNCTION_NAME_CHARS, description="unique in the project")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError("1-63 letters, digits, '_', '.', '-', starting with a letter or digit")
        return v


def function_out(fn: Function, stats: dict | None = None) -> dict:
    spec = fn.spec
    out = {
        "id": fn.uuid,
        "name": fn.name,
        "project_id": fn.project_id,
        "version": fn.version,
        "image": spec.image,
        "handler": spec.handler,
        "command": list(spec.command),
        "protocol": spec.protocol,
        "has_code": spec.code is not None,
        "runtime": spec.runtime,
        "resources": {
            "cpu": spec.resources.cpu,
            "memory_mb": spec.resources.memory_mb,
            "pids": spec.resources.pids,
        },
        "env": dict(spec.env),
        "secrets": ref_views(spec.secrets),
        "registry_id": spec.registry_id,
        "timeout_s": spec.timeout_s,
        "concurrency": spec.concurrency,
        "min_instances": spec.min_instances,
        "max_instances": spec.max_instances,
        "idle_ttl_s": spec.idle_ttl_s,
        "image_pull_policy": spec.pull_policy.value,
        "created_at": iso_time(fn.created_at),
        "updated_at": iso_time(fn.updated_at),
        "links": [
            {"rel": "self", "href": f"/v1/functions/{fn.name}"},
            {"rel": "invoke", "href": f"/v1/functions/{fn.name}/invoke"},
        ],
    }
    if stats is not None:
        out["stats"] = stats
    return out
