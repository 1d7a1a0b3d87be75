"""How a job, schedule template, function, Zun container or capsule names the secrets it is given.

One shape for every kind, a list under ``secrets`` (a Zunray extension on the Zun API, whose own
``environment`` takes strings only)::

    "secrets": [{"secret": "db", "env": "DB_PASS"}, {"secret": "tls", "file": "tls.pem"}]

Checked here for every entry point: the shape (``SecretRefIn``, ``parse_refs``) and, at
submission, that each named secret exists in the caller's project (``check_refs_exist``: 400
naming the field, the same answer whether the name is unknown or another project's).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, model_validator

from runner.caps import SHORT_CHARS
from runner.errors import InvalidSpec, NotFound
from runner.models import SecretRef
from runner.store import Store

#: a secret's name, and a secret file's name under /run/secrets
SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
SECRET_NAME_RULE = "1-63 letters, digits, '_', '.', '-', starting with a letter or digit"
MAX_REFS = 32
SECRET_FILES_DIR = "/run/secrets"
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


def check_secret_name(name: str, field: str = "name") -> str:
    if not SECRET_NAME_RE.match(name):
        raise InvalidSpec(f"{field}: a secret name is {SECRET_NAME_RULE}", field=field)
    return name


class SecretRefIn(BaseModel):
    """One secret given to a container: ``env`` names its variable, or ``file`` its file under
    /run/secrets (mode 0400, owned by the container's user, on a tmpfs)."""

    model_config = ConfigDict(extra="forbid")

    secret: StrictStr = Field(..., pattern=SECRET_NAME_RE.pattern, description="the secret's name")
    env: StrictStr | None = Field(None, pattern=_ENV_NAME_RE.pattern)
    file: StrictStr | None = Field(None, pattern=SECRET_NAME_RE.pattern)

    @model_validator(mode="after")
    def _one_target(self) -> SecretRefIn:
        if (self.env is None) == (self.file is None):
            raise ValueError("give one of env or file")
        return self


#: the ``secrets`` field of a job (and a schedule's template) or a function request
SecretRefList = Annotated[
    list[SecretRefIn],
    Field(
        max_length=MAX_REFS,
        description="the project's secrets given as environment variables or files in /run/secrets",
    ),
]
#: the ``registry`` field of a job or a function request
RegistryRef = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=SHORT_CHARS,
        description="one of the project's registries (name or id): its stored credentials pull the image",
    ),
]


def check_ref_list(refs: list[SecretRefIn], env: dict[str, str]) -> list[SecretRefIn]:
    """At most MAX_REFS, no variable or file given twice, no variable also in ``env``."""
    if len(refs) > MAX_REFS:
        raise ValueError(f"at most {MAX_REFS} secret references")
    envs = [r.env for r in refs if r.env]
    files = [r.file for r in refs if r.file]
    twice = sorted(
        {n for n in envs if envs.count(n) > 1} | {n for n in files if files.count(n) > 1}
    )
    if twice:
        raise ValueError(f"given twice: {twice}")
    clash = sorted(set(envs) & set(env))
    if clash:
        raise ValueError(f"also in env: {clash}")
    return refs


def parse_refs(raw: Any, *, env: dict[str, str], field: str = "secrets") -> tuple[SecretRef, ...]:
    """A ``secrets`` list from a hand-validated body (the Zun API), or 400 naming the field."""
    if raw in (None, []):
        return ()
    if not isinstance(raw, list):
        raise InvalidSpec(f"{field} must be a list", field=field)
    refs = []
    for i, item in enumerate(raw):
        try:
            refs.append(SecretRefIn.model_validate(item))
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            name = f"{field}[{i}]" + (f".{where}" if where else "")
            raise InvalidSpec(f"{name}: {problem['msg']}", field=name) from None
    try:
        check_ref_list(refs, env)
    except ValueError as exc:
        raise InvalidSpec(f"{field}: {exc}", field=field) from None
    return to_refs(refs)


def to_refs(refs: list[SecretRefIn]) -> tuple[SecretRef, ...]:
    return tuple(SecretRef(secret=r.secret, env=r.env, file=r.file) for r in refs)


def check_refs_exist(
    store: Store, project_id: str, refs: list[Any], *, field: str = "secrets"
) -> None:
    """400 naming the first reference to a secret the project does not have."""
    names = [r["secret"] if isinstance(r, dict) else r.secret for r in refs]
    missing = store.secrets.missing(project_id, set(names))
    for i, name in enumerate(names):
        if name in missing:
            raise InvalidSpec(
                f"{field}[{i}].secret: no secret named {name} in this project",
                field=f"{field}[{i}].secret",
            )


def ref_views(refs: tuple[SecretRef, ...]) -> list[dict[str, str]]:
    """References as the views show them: never a value, which the spec does not hold."""
    return [
        {"secret": r.secret, **({"env": r.env} if r.env else {"file": r.file})}  # type: ignore[dict-item]
        for r in refs
    ]


def with_registry(
    store: Store, project_id: str, fields: dict[str, Any], *, field: str = "registry"
) -> dict[str, Any]:
    """A job's or function's fields with ``registry`` (one of the project's registries, by name
    or id, as Zun's own ``registry`` field) resolved: ``registry_id`` for the node, which pulls
    with its stored credentials, and the image under its domain. 400 naming the field if the
    project has no such registry (another project's is as unknown)."""
    ident = fields.get("registry")
    if not ident:
        return fields
    try:
        reg = store.registries.get_registry(ident, project_id=project_id)
    except NotFound:
        raise InvalidSpec(f"{field}: no registry {ident} in this project", field=field) from None
    image = fields["image"]
    if not image.startswith(reg["domain"] + "/"):
        image = f"{reg['domain']}/{image}"
    return {**fields, "image": image, "registry_id": reg["uuid"]}
