"""A project's secrets: /v1/secrets. Every member of the project manages them; no answer ever
carries a value (the store gives the routes metadata only, the value stays sealed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from gateway.context import CallerDep, StoreDep
from runner.errors import InvalidSpec
from runner.schemas import iso_time
from runner.secret_refs import SECRET_NAME_RE, SECRET_NAME_RULE, check_secret_name

router = APIRouter(prefix="/v1/secrets", tags=["secrets"])


class SecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(..., pattern=SECRET_NAME_RE.pattern, description=SECRET_NAME_RULE)
    value: StrictStr = Field(
        ..., min_length=1, description="UTF-8, at most secret_value_max_bytes (64 KiB)"
    )


class SecretValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: StrictStr = Field(..., min_length=1)


def _sealed(request: Request, value: str) -> str:
    limit = request.app.state.settings.secret_value_max_bytes
    if len(value.encode()) > limit:
        raise InvalidSpec(f"value: at most {limit} bytes", field="value")
    return request.app.state.secrets.seal(value)


def _view(s: dict) -> dict:
    return {
        "id": s["uuid"],
        "name": s["name"],
        "project_id": s["project_id"],
        "user_id": s["user_id"],
        "created_at": iso_time(s["created_at"]),
        "updated_at": iso_time(s["updated_at"]),
        "links": [{"rel": "self", "href": f"/v1/secrets/{s['name']}"}],
    }


@router.post("", status_code=201, summary="Create a secret (the value is never shown again)")
def create(body: SecretIn, request: Request, store: StoreDep, caller: CallerDep) -> dict:
    s = store.secrets.create_secret(
        project_id=caller.project_id,
        user_id=caller.user_id,
        name=body.name,
        sealed=_sealed(request, body.value),
        max_per_project=request.app.state.settings.secrets_per_project,
    )
    return _view(s)


@router.get("", summary="List the project's secrets (names and metadata)")
def list_secrets(store: StoreDep, caller: CallerDep) -> dict:
    return {"secrets": [_view(s) for s in store.secrets.list_secrets(caller.project_id)]}


@router.get("/{name}", summary="Show a secret's metadata (never its value)")
def show(name: str, store: StoreDep, caller: CallerDep) -> dict:
    return _view(store.secrets.get_secret(caller.project_id, check_secret_name(name)))


@router.put("/{name}", summary="Replace a secret's value (containers started later get it)")
def replace(
    name: str, body: SecretValueIn, request: Request, store: StoreDep, caller: CallerDep
) -> dict:
    check_secret_name(name)
    s = store.secrets.replace_value(caller.project_id, name, _sealed(request, body.value))
    return _view(s)


@router.delete("/{name}", status_code=204, summary="Delete a secret nothing running references")
def delete(name: str, store: StoreDep, caller: CallerDep) -> Response:
    store.secrets.delete_secret(caller.project_id, check_secret_name(name))
    return Response(status_code=204)
