"""A few Keystone v3 admin calls: projects, users, roles, the service catalog.

Used by ``zunray keystone-register`` (register Zunray as service type
``container`` with its service user) and by the tests to set up tenants
through Keystone's own API.
"""

from __future__ import annotations

from typing import Any

import httpx

from runner.errors import Unavailable


class KeystoneAdmin:
    def __init__(
        self,
        url: str,
        *,
        username: str,
        password: str,
        project: str = "admin",
        domain: str = "default",
    ) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=30)
        self.token = self.login(username, password, project, domain=domain)
        self.http.headers["X-Auth-Token"] = self.token

    def login(self, username: str, password: str, project: str, *, domain: str = "default") -> str:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": username, "domain": {"id": domain}, "password": password}
                    },
                },
                "scope": {"project": {"name": project, "domain": {"id": domain}}},
            }
        }
        resp = self.http.post(f"{self.url}/auth/tokens?nocatalog", json=body)
        if resp.status_code != 201:
            raise Unavailable(
                f"cannot log in to Keystone as {username}: {resp.status_code} {resp.text[:200]}"
            )
        return resp.headers["X-Subject-Token"]

    def _find(self, kind: str, name: str, **query: str) -> dict[str, Any] | None:
        resp = self.http.get(f"{self.url}/{kind}", params={"name": name, **query})
        resp.raise_for_status()
        found = resp.json()[kind]
        return found[0] if found else None

    def _ensure(self, kind: str, key: str, body: dict[str, Any], **query: str) -> dict[str, Any]:
        existing = self._find(kind, body["name"], **query)
        if existing:
            return existing
        resp = self.http.post(f"{self.url}/{kind}", json={key: body})
        resp.raise_for_status()
        return resp.json()[key]

    def project(
        self, name: str, *, domain: str = "default", enabled: bool = True
    ) -> dict[str, Any]:
        return self._ensure(
            "projects", "project", {"name": name, "domain_id": domain, "enabled": enabled}
        )

    def user(
        self, name: str, password: str, *, project_id: str | None = None, domain: str = "default"
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "password": password,
            "domain_id": domain,
            **({"default_project_id": project_id} if project_id else {}),
        }
        return self._ensure("users", "user", body)

    def role(self, name: str) -> dict[str, Any]:
        return self._ensure("roles", "role", {"name": name})

    def grant(self, *, project_id: str, user_id: str, role: str) -> None:
        role_id = self.role(role)["id"]
        self.http.put(
            f"{self.url}/projects/{project_id}/users/{user_id}/roles/{role_id}"
        ).raise_for_status()

    def set_project_enabled(self, project_id: str, enabled: bool) -> None:
        self.http.patch(
            f"{self.url}/projects/{project_id}", json={"project": {"enabled": enabled}}
        ).raise_for_status()

    def revoke(self, token: str) -> None:
        self.http.delete(
            f"{self.url}/auth/tokens", headers={"X-Subject-Token": token}
        ).raise_for_status()

    def register_service(self, *, endpoint: str, region: str = "RegionOne") -> dict[str, Any]:
        """Service type ``container`` with public and internal endpoints (must end in /v1)."""
        service = self._ensure(
            "services",
            "service",
            {"name": "zun", "type": "container", "description": "Zunray (Zun API)"},
            type="container",
        )
        have = self.http.get(f"{self.url}/endpoints", params={"service_id": service["id"]}).json()[
            "endpoints"
        ]
        for interface in ("public", "internal"):
            if not any(e["interface"] == interface for e in have):
                body = {
                    "endpoint": {
                        "service_id": service["id"],
                        "interface": interface,
                        "url": endpoint,
                        "region_id": region,
                    }
                }
                self.http.post(f"{self.url}/endpoints", json=body).raise_for_status()
        return service

    def service_user(self, *, name: str, password: str, project: str = "service") -> None:
        """The gateway's own user: it validates tokens, so it needs the service role."""
        proj = self.project(project)
        user = self.user(name, password, project_id=proj["id"])
        self.grant(project_id=proj["id"], user_id=user["id"], role="service")
