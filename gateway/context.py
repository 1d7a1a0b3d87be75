"""Request-scoped dependencies: who is asking (``ProjectDep``) and the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from runner.store import Store

NOAUTH_PROJECT = "default"
NOAUTH_USER = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    project_id: str
    user_id: str
    roles: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def caller(x_project_id: Annotated[str | None, Header()] = None) -> Caller:
    """noauth: everyone is an admin of the project named by X-Project-Id (or "default")."""
    return Caller(project_id=x_project_id or NOAUTH_PROJECT, user_id=NOAUTH_USER, roles=("admin", "member"))


def store(request: Request) -> Store:
    return request.app.state.store


CallerDep = Annotated[Caller, Depends(caller)]
StoreDep = Annotated[Store, Depends(store)]
