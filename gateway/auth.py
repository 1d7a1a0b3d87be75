"""Who is calling: Keystone token validation (or ``noauth``), as a middleware.

In ``keystone`` mode every route but the public ones needs ``X-Auth-Token``.
The gateway validates it with Keystone (``GET /v3/auth/tokens``) using its
own service user's token, and caches the answer for at most
``token_cache_s`` and never past the token's expiry: a revoked token keeps
working for at most ``token_cache_s`` seconds (the documented revocation
delay). Missing or invalid tokens get 401 with ``WWW-Authenticate`` naming
Keystone; Keystone unreachable gives 503, never 500.

The admin role counts only in the cloud admin project (``admin_project``,
by name or id): a project's own admin is a member like the others. noauth
callers are admins of every project, but only from this machine (gateway/noauth.py).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse

from gateway import errors, noauth
from gateway.context import Caller, noauth_caller
from runner.errors import Unauthorized, Unavailable, ZunrayError
from runner.settings import Settings

PUBLIC_PATHS = frozenset(
    {
        "/",
        "/v1",
        "/v1/",
        "/healthz",
        "/openapi.json",
        "/docs",
        "/redoc",
        "/v1/dashboard/config",
        "/v1/dashboard/login",
    }
)
PUBLIC_PREFIXES = (
    "/dashboard",
)  # the dashboard's page and assets: it logs in, then calls the API with a token
# public, but a token sent there is validated: /healthz shows its per-host report to callers that pass host:get_all
OPTIONAL_TOKEN_PATHS = frozenset({"/healthz"})
SERVICE_TOKEN_MARGIN_S = 60.0


def _expiry(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class KeystoneAuth:
    def __init__(self, settings: Settings) -> None:
        if not settings.keystone_url or not settings.keystone_service_password:
            raise ValueError("auth_mode keystone needs keystone_url and keystone_service_password")
        self.settings = settings
        self.url = settings.keystone_url.rstrip("/")
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        self._service: tuple[str, float] | None = None
        self._cache: OrderedDict[str, tuple[Caller, float]] = OrderedDict()

    async def close(self) -> None:
        await self._http.aclose()

    async def password_token(self, user: str, password: str, project: str) -> tuple[str, str]:
        """A project-scoped token for a user (the dashboard's login): (token, expires_at)."""
        domain = {"id": self.settings.keystone_domain}
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": user, "domain": domain, "password": password}},
                },
                "scope": {"project": {"name": project, "domain": domain}},
            }
        }
        try:
            resp = await self._http.post(f"{self.url}/auth/tokens?nocatalog", json=body)
        except httpx.HTTPError as exc:
            raise Unavailable(f"Keystone unreachable at {self.url}: {exc}") from exc
        if resp.status_code in (400, 401, 403, 404):
            raise Unauthorized("wrong user, password or project")
        if resp.status_code != 201:
            raise Unavailable(f"Keystone answered {resp.status_code} to a login")
        return resp.headers["X-Subject-Token"], resp.json()["token"]["expires_at"]

    async def _service_token(self, *, fresh: bool = False) -> str:
        if self._service and not fresh and self._service[1] - SERVICE_TOKEN_MARGIN_S > time.time():
            return self._service[0]
        s = self.settings
        try:
            token, expires_at = await self.password_token(
                s.keystone_service_user, s.keystone_service_password, s.keystone_service_project
            )
        except Unauthorized as exc:  # our configuration, not the caller's fault
            raise Unavailable("the Zunray service user cannot log in to Keystone") from exc
        self._service = (token, _expiry(expires_at))
        return token

    async def validate(self, token: str) -> Caller:
        now = time.time()
        cached = self._cache.get(token)
        if cached and cached[1] > now:
            self._cache.move_to_end(token)
            return cached[0]
        resp = await self._ask(token)
        if resp.status_code == 401:  # our own token expired or was revoked: log in again once
            self._service = None
            resp = await self._ask(token, fresh=True)
        if resp.status_code in (401, 403, 404):
            raise Unauthorized(
                "The request you have made requires authentication: the token is invalid or expired."
            )
        if resp.status_code != 200:
            raise Unavailable(f"Keystone answered {resp.status_code} while validating a token")
        data = resp.json()["token"]
        project = data.get("project")
        if not project:
            raise Unauthorized("the token is not scoped to a project")
        roles = tuple(r["name"] for r in data.get("roles", ()))
        if self.settings.admin_project not in (project["id"], project.get("name")):
            roles = tuple(
                r for r in roles if r != "admin"
            )  # a project's own admin is not the cloud admin
        caller = Caller(project_id=project["id"], user_id=data["user"]["id"], roles=roles)
        until = min(now + self.settings.token_cache_s, _expiry(data["expires_at"]))
        self._cache[token] = (caller, until)
        while len(self._cache) > self.settings.token_cache_size:
            self._cache.popitem(last=False)
        return caller

    async def _ask(self, token: str, *, fresh: bool = False) -> httpx.Response:
        service = await self._service_token(fresh=fresh)
        try:
            return await self._http.get(
                f"{self.url}/auth/tokens?nocatalog",
                headers={"X-Auth-Token": service, "X-Subject-Token": token},
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"Keystone unreachable at {self.url}: {exc}") from exc


class Authenticate:
    """Pure ASGI middleware: sets ``request.state.caller`` (or answers 401/503).

    Pure ASGI rather than ``@app.middleware``: Starlette's BaseHTTPMiddleware
    costs about a millisecond per request, which warm invocations feel.
    """

    def __init__(self, app, settings: Settings) -> None:  # noqa: ANN001
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        request = Request(scope)
        if self.settings.auth_mode == "noauth":
            if not noauth.host_allowed(self.settings, request.headers.get("host")):
                detail = "this gateway runs without authentication and answers only requests addressed to it by a loopback name or its own address"
                body = errors.error_body(request, 400, "invalid-host", detail, detail)
                return await JSONResponse(body, status_code=400)(scope, receive, send)
            state["caller"] = noauth_caller(request.headers.get("X-Project-Id"))
            return await self.app(scope, receive, send)
        path = request.url.path
        token = request.headers.get("X-Auth-Token")
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            if not (token and path in OPTIONAL_TOKEN_PATHS):
                return await self.app(scope, receive, send)
        try:
            if not token:
                raise Unauthorized(
                    "The request you have made requires authentication: send X-Auth-Token."
                )
            state["caller"] = await request.app.state.auth.validate(token)
        except ZunrayError as exc:
            status = errors.status_of(exc)
            headers = (
                {"WWW-Authenticate": f'Keystone uri="{self.settings.keystone_url}"'}
                if status == 401
                else errors.retry_headers(exc)
            )
            body = errors.error_body(
                request, status, errors.code_of(request.url.path, exc), exc.message, exc.message
            )
            return await JSONResponse(body, status_code=status, headers=headers)(
                scope, receive, send
            )
        return await self.app(scope, receive, send)
