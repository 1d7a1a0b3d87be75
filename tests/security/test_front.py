"""The front door, attacked: anonymous inventory, DNS rebinding of a noauth gateway, a noauth
gateway on a public address, readable data at rest, password guessing at the dashboard login,
and a project's own admin posing as the cloud admin (issue 14 items 7, 10, 13, 15)."""

from __future__ import annotations

import asyncio
import random
import stat

import httpx
import pytest

from gateway.app import create_app
from runner.local import stack
from runner.settings import Settings

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def _mode(path) -> int:  # noqa: ANN001
    return stat.S_IMODE(path.stat().st_mode)


def test_anonymous_and_member_healthz_reveal_no_hosts(secured, as_user):
    """Item 7: the per-host report needs host:get_all; anyone else learns only the overall status."""
    report = as_user("carol").get("/healthz")
    hosts = [h["name"] for h in report.json()["cluster"]["hosts"]]
    assert hosts and "problems" in report.json()
    anonymous = secured.http.get("/healthz")
    for resp in (anonymous, as_user("alice").get("/healthz"), as_user("dave").get("/healthz")):
        assert resp.status_code == report.status_code
        assert resp.json() == {"status": report.json()["status"]}
        assert not any(name in resp.text for name in hosts)
    assert secured.http.get("/healthz", headers={"X-Auth-Token": "not-a-token"}).status_code == 401


def test_noauth_gateway_refuses_a_rebound_host_name(zunray):
    """Item 10: a page on evil.example rebound to 127.0.0.1 reaches the port but gets 400."""
    port = zunray.settings.gateway_port
    rebound = zunray.http.get("/v1/jobs", headers={"Host": f"evil.example:{port}"})
    assert rebound.status_code == 400 and "jobs" not in rebound.json()
    assert (
        zunray.http.post(
            "/v1/jobs", json={"image": "busybox:latest"}, headers={"Host": f"evil.example:{port}"}
        ).status_code
        == 400
    )
    assert zunray.http.get("/v1/jobs", headers={"Host": f"127.0.0.1:{port}"}).status_code == 200
    assert zunray.http.get("/v1/jobs", headers={"Host": f"localhost:{port}"}).status_code == 200


def test_noauth_gateway_refuses_to_start_on_a_non_loopback_address(tmp_path):
    """Item 10: checked before anything listens (no bind is attempted here)."""
    with pytest.raises(ValueError, match="ALLOW_NOAUTH_REMOTE"):
        create_app(Settings(data_dir=tmp_path, gateway_host="0.0.0.0"))
    with pytest.raises(ValueError, match="not a loopback"):
        create_app(Settings(data_dir=tmp_path, gateway_host="192.0.2.10"))
    create_app(
        Settings(data_dir=tmp_path, gateway_host="0.0.0.0", allow_noauth_remote=True)
    )  # the operator's explicit choice
    create_app(
        Settings(
            data_dir=tmp_path,
            gateway_host="0.0.0.0",
            auth_mode="keystone",
            keystone_url="http://127.0.0.1:1/v3",
            keystone_service_password="x",
        )
    )


def test_data_at_rest_is_the_owners_alone(zunray):
    """Item 13: another local user can read neither the store, the secret key nor the Ray token,
    and modes found looser are narrowed at the next start."""
    s = zunray.settings
    db = s.data_dir / "zunray.db"
    secrets_ = [db, s.data_dir / "secret.key", s.ray_token_file] + [
        p for p in (db.with_name("zunray.db-wal"), db.with_name("zunray.db-shm")) if p.exists()
    ]
    assert _mode(s.data_dir) == 0o700
    assert _mode(s.run_dir) == 0o700 and _mode(s.data_dir / "logs") == 0o700
    for path in secrets_ + list((s.data_dir / "logs").glob("*.log")):
        assert _mode(path) == 0o600, path
    s.data_dir.chmod(0o755)
    db.chmod(0o644)
    s.ray_token_file.chmod(0o644)
    stack.up(s)  # idempotent: the running stack is left alone, the modes are fixed
    assert _mode(s.data_dir) == 0o700 and _mode(db) == 0o600 and _mode(s.ray_token_file) == 0o600


def test_dashboard_login_guessing_is_throttled_per_address(secured, keystone):
    """Item 13: after 5 wrong passwords within 60 s an address gets 429 with Retry-After, even
    with the right password; another address still logs in. Each client has an address of
    its own in 127/8, so the shared stack's other logins are not throttled."""
    net = f"127.0.{random.randint(1, 254)}"
    guesser, other = f"{net}.2", f"{net}.3"

    def client(address: str) -> httpx.Client:
        return httpx.Client(
            base_url=secured.settings.gateway_url,
            timeout=30,
            transport=httpx.HTTPTransport(local_address=address),
        )

    wrong = {"username": "alice", "password": "guess", "project": "p1"}
    right = {**wrong, "password": keystone.passwords["alice"]}
    with client(guesser) as g, client(other) as o:
        assert [g.post("/v1/dashboard/login", json=wrong).status_code for _ in range(5)] == [
            401
        ] * 5
        blocked = g.post("/v1/dashboard/login", json=right)
        assert blocked.status_code == 429
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
        assert o.post("/v1/dashboard/login", json=right).status_code == 200


def test_admin_of_a_member_project_is_not_cloud_admin(as_user):
    """Item 15: dave has the admin role in p2, which is not the admin project: a member there."""
    dave, carol = as_user("dave"), as_user("carol")
    denied = dave.get("/v1/hosts/")
    assert denied.status_code == 403 and "host:get_all" in denied.json()["errors"][0]["detail"]
    assert dave.get("/v1/containers?all_projects=True").status_code == 403
    assert dave.get("/v1/jobs").status_code == 200  # still a member of p2
    assert carol.get("/v1/hosts/").status_code == 200


@pytest.mark.parametrize(
    "admin_project, cloud_admin", [("admin", True), ("id-of-admin", True), ("p1", False)]
)
def test_admin_project_matches_by_name_or_id(admin_project, cloud_admin):
    """Item 15, unit level: the admin role counts in the admin project named by name or id, nowhere else."""
    from gateway.auth import KeystoneAuth

    project = {"id": "id-of-admin", "name": "admin"}
    token = {
        "expires_at": "2999-01-01T00:00:00Z",
        "project": project,
        "user": {"id": "u"},
        "roles": [{"name": "admin"}, {"name": "member"}],
    }

    def keystone(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":  # the service user's login
            return httpx.Response(
                201,
                headers={"X-Subject-Token": "service"},
                json={"token": {"expires_at": token["expires_at"]}},
            )
        return httpx.Response(200, json={"token": token})

    settings = Settings(
        auth_mode="keystone",
        keystone_url="http://127.0.0.1:1/v3",
        keystone_service_password="x",
        admin_project=admin_project,
    )
    auth = KeystoneAuth(settings)
    auth._http = httpx.AsyncClient(transport=httpx.MockTransport(keystone))
    caller = asyncio.run(auth.validate("a-token"))
    assert caller.is_admin is cloud_admin and "member" in caller.roles
