"""Request-scoped dependencies: who is asking (``ProjectDep``) and the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from policies.access import allowed
from runner.errors import Forbidden
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


def noauth_caller(project_id: str | None) -> Caller:
    """noauth: everyone is an admin of the project named by X-Project-Id (or "default")."""
    return Caller(
        project_id=project_id or NOAUTH_PROJECT, user_id=NOAUTH_USER, roles=("admin", "member")
    )


def caller(request: Request) -> Caller:
    """Set by the authentication middleware (gateway/auth.py)."""
    return request.state.caller


def project_scope(request: Request, all_projects: bool, rule: str) -> str | None:
    """The project to look in: the caller's, or None (every project) for an allowed all_projects."""
    if all_projects:
        enforce(request, rule)
        return None
    return request.state.caller.project_id


def enforce(request: Request, rule: str) -> None:
    """403 unless the access rule allows the caller (policies/access.py)."""
    if not allowed(request.app.state.rules, rule, request.state.caller.roles):
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")


def permitted(request: Request, rule: str) -> bool:
    """Whether the access rule allows the caller; False for an anonymous caller (a public route)."""
    who = getattr(request.state, "caller", None)
    return who is not None and allowed(request.app.state.rules, rule, who.roles)


def store(request: Request) -> Store:
    return request.app.state.store


CallerDep = Annotated[Caller, Depends(caller)]
StoreDep = Annotated[Store, Depends(store)]
