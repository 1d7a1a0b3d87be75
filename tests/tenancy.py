"""A real Keystone (PyPI keystone, SQLite, gunicorn on loopback) and a Zunray
stack that authenticates against it, with two projects set up through
Keystone's own API: p1 (alice: member, carol: admin) and p2 (bob: member,
dave: admin). p1 is the stack's admin project, so carol is the cloud admin and
dave, an admin of p2 only, is treated as a member.

A pytest plugin (``pytest_plugins`` in tests/conftest.py): the Keystone tests
and the attack suite in tests/security share one Keystone and one stack."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from runner.local import keystone as keystone_local
from runner.local.keystone_admin import KeystoneAdmin
from tests.conftest import free_port, run_stack, test_settings

ADMIN_PASSWORD = "admin-secret"
USER_PROJECTS = {"alice": "p1", "carol": "p1", "bob": "p2", "dave": "p2"}
SERVICE_PASSWORD = "service-secret"


@dataclass
class Tenants:
    url: str
    home: object
    port: int
    admin: KeystoneAdmin
    projects: dict
    tokens: dict  # user name -> token
    passwords: dict

    def token(self, user: str) -> str:
        project = USER_PROJECTS[user]
        return self.admin.login(user, self.passwords[user], project)


@pytest.fixture(scope="session")
def keystone(tmp_path_factory):
    home = tmp_path_factory.mktemp("keystone")
    port = free_port(low=23000)
    venv = keystone_local.ensure_installed()
    keystone_local.bootstrap(home, port=port, admin_password=ADMIN_PASSWORD, venv=venv)
    keystone_local.serve(home, port=port, venv=venv)
    url = f"http://127.0.0.1:{port}/v3"
    try:
        admin = KeystoneAdmin(url, username="admin", password=ADMIN_PASSWORD)
        admin.service_user(name="zunray", password=SERVICE_PASSWORD)
        projects = {name: admin.project(name) for name in ("p1", "p2")}
        passwords = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"}
        for user, project, role in (
            ("alice", "p1", "member"),
            ("bob", "p2", "member"),
            ("carol", "p1", "admin"),
            ("dave", "p2", "admin"),
        ):
            u = admin.user(user, passwords[user], project_id=projects[project]["id"])
            admin.grant(project_id=projects[project]["id"], user_id=u["id"], role=role)
            admin.grant(project_id=projects[project]["id"], user_id=u["id"], role="reader")
        tenants = Tenants(
            url=url,
            home=home,
            port=port,
            admin=admin,
            projects=projects,
            tokens={},
            passwords=passwords,
        )
        tenants.tokens = {u: tenants.token(u) for u in passwords}
        yield tenants
    finally:
        keystone_local.stop(home)


@pytest.fixture(scope="session")
def secured(tmp_path_factory, keystone):
    """A Zunray stack with auth_mode keystone, registered in the catalog."""
    settings = test_settings(
        tmp_path_factory.mktemp("secured"),
        auth_mode="keystone",
        keystone_url=keystone.url,
        keystone_service_password=SERVICE_PASSWORD,
        token_cache_s=2.0,
        admin_project="p1",  # carol's admin role counts, dave's (in p2) does not
    )
    keystone.admin.register_service(endpoint=f"{settings.gateway_url}/v1")
    yield from run_stack(settings)  # stack.up polls /healthz, which is public


@pytest.fixture
def as_user(secured, keystone):
    """An HTTP client acting as one of the users: as_user("alice") (or "bob", "carol", "dave")."""
    clients = []

    def make(user: str) -> httpx.Client:
        client = httpx.Client(
            base_url=secured.settings.gateway_url,
            timeout=60,
            headers={
                "X-Auth-Token": keystone.tokens[user],
                "OpenStack-API-Version": "container latest",
            },
        )
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def delete_and_wait(
    client: httpx.Client, path: str, *, timeout_s: float = 60.0, **params: str
) -> None:
    """DELETE ``path`` (Zun's deletes finish on the node) and wait until it answers 404,
    so that what a test made no longer counts against its project's quota."""
    import time

    deadline = time.monotonic() + timeout_s
    answer = client.delete(path, params=params)
    while client.get(path).status_code != 404:
        assert time.monotonic() < deadline, (
            f"{path} is still there; DELETE answered {answer.status_code} {answer.text[:300]}"
        )
        time.sleep(0.5)
        if (
            answer.status_code >= 400
        ):  # e.g. 409 while another operation holds the container: ask again
            answer = client.delete(path, params=params)
