"""Keystone projects: authentication, isolation on every route, access rules, quotas."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]

JOB = {
    "image": "busybox:latest",
    "command": ["sh", "-c", "echo secret-of-p1; sleep 30"],
    "resources": {"cpu": 0.1, "memory_mb": 16},
}
CONTAINER = {"image": "busybox:latest", "command": ["sleep", "300"], "cpu": 0.1, "memory": 16}


def test_missing_or_bad_token_is_401_pointing_at_keystone(secured, keystone):
    resp = secured.http.get("/v1/jobs")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}"'
    assert resp.json()["errors"][0]["status"] == 401
    bad = secured.http.get("/v1/containers", headers={"X-Auth-Token": "not-a-token"})
    assert bad.status_code == 401 and bad.json()["errors"][0]["code"] == "container.unauthorized"
    assert secured.http.get("/").status_code == 200  # version discovery stays public


def test_a_project_sees_only_its_own_objects_and_others_get_404(as_user):
    alice, bob, carol = as_user("alice"), as_user("bob"), as_user("carol")
    job = alice.post("/v1/jobs", json=JOB).json()
    ctr = alice.post("/v1/containers?run=true", json=CONTAINER).json()
    try:
        assert job["project_id"] == ctr["project_id"]
        for path in (
            f"/v1/jobs/{job['id']}",
            f"/v1/jobs/{job['id']}/logs",
            f"/v1/containers/{ctr['uuid']}",
            f"/v1/containers/{ctr['uuid']}/container_actions",
        ):
            assert bob.get(path).status_code == 404, path
        assert bob.post(f"/v1/jobs/{job['id']}/cancel").status_code == 404
        assert bob.delete(f"/v1/containers/{ctr['uuid']}?force=true").status_code in (403, 404)
        assert bob.post(f"/v1/containers/{ctr['uuid']}/stop").status_code == 404
        assert job["id"] not in [j["id"] for j in bob.get("/v1/jobs").json()["jobs"]]
        assert ctr["uuid"] not in [
            c["uuid"] for c in bob.get("/v1/containers").json()["containers"]
        ]
        assert job["id"] in [j["id"] for j in alice.get("/v1/jobs").json()["jobs"]]
        everyone = carol.get("/v1/containers?all_projects=True").json()["containers"]
        assert ctr["uuid"] in [c["uuid"] for c in everyone]
    finally:
        alice.post(f"/v1/jobs/{job['id']}/cancel")
        carol.delete(f"/v1/containers/{ctr['uuid']}?force=True&all_projects=True")


@pytest.mark.parametrize(
    "method, path, body, rule",
    [
        (
            "post",
            "/v1/containers",
            {**CONTAINER, "privileged": True},
            "container:create:privileged",
        ),
        ("post", "/v1/containers", {**CONTAINER, "runtime": "runsc"}, "container:create:runtime"),
        (
            "post",
            "/v1/containers",
            {**CONTAINER, "host": "somewhere"},
            "container:create:requested_destination",
        ),
        ("post", "/v1/jobs", {**JOB, "runtime": "runsc"}, "job:create:runtime"),
        ("get", "/v1/hosts/", None, "host:get_all"),
        ("put", "/v1/quotas/anything", {"containers": 1}, "quota:update"),
        ("get", "/v1/containers?all_projects=True", None, "container:get_all_all_projects"),
        ("post", "/v1/jobs", {**JOB, "capabilities": ["NET_ADMIN"]}, "job:create:capabilities"),
        ("put", "/v1/cluster/hosts/anything", {"enabled": False}, "host:update"),
        ("get", "/v1/cluster/hosts", None, "host:get_all"),
        (
            "post",
            "/v1/functions",
            {"name": "f", "image": "busybox:latest", "command": ["cat"], "runtime": "runc"},
            "function:create:runtime",
        ),
        ("get", "/metrics", None, "metrics:get"),
        (
            "post",
            "/v1/capsules",
            {
                "template": {
                    "kind": "capsule",
                    "metadata": {},
                    "spec": {"runtime": "vm", "containers": [{"image": "busybox:latest"}]},
                }
            },
            "capsule:create:runtime",
        ),
        ("get", "/v1/services", None, "zun-service:get_all"),
        ("put", "/v1/services/disable?host=h&binary=zun-compute", None, "zun-service:disable"),
        (
            "put",
            "/v1/services/force_down?host=h&binary=zun-compute",
            None,
            "zun-service:force_down",
        ),
    ],
    ids=[
        "privileged",
        "runtime",
        "host-hint",
        "job-runtime",
        "hosts",
        "quota-update",
        "all-projects",
        "capabilities",
        "host-update",
        "cluster-hosts",
        "function-runtime",
        "metrics",
        "capsule-runtime",
        "services",
        "service-disable",
        "service-force-down",
    ],
)
def test_admin_only_rules_deny_members_with_the_rule_name(as_user, method, path, body, rule):
    resp = getattr(as_user("alice"), method)(path, **({"json": body} if body is not None else {}))
    assert resp.status_code == 403, resp.text
    assert rule in resp.json()["errors"][0]["detail"]


def test_members_list_the_zones_and_admins_the_services(as_user):
    alice, carol = as_user("alice"), as_user("carol")
    assert alice.get("/v1/availability_zones").json()["availability_zones"] == [
        {"availability_zone": "nova"}
    ]
    [svc] = carol.get("/v1/services").json()["services"]
    assert svc["binary"] == "zun-compute" and svc["state"] == "up"


def test_quota_refuses_zun_creates_over_the_limit(as_user, keystone):
    carol, alice = as_user("carol"), as_user("alice")
    p1 = keystone.projects["p1"]["id"]
    assert carol.put(f"/v1/quotas/{p1}", json={"containers": 1}).status_code == 200
    made = []
    try:
        first = alice.post("/v1/containers", json=CONTAINER)
        assert first.status_code == 202
        made.append(first.json()["uuid"])
        second = alice.post("/v1/containers", json=CONTAINER)
        assert second.status_code == 403
        err = second.json()["errors"][0]
        assert err["code"] == "container.over-quota" and "containers" in err["detail"]
        usage = alice.get(f"/v1/quotas/{p1}?usages=True").json()
        assert usage["containers"] == {"limit": 1, "in_use": 1}
        assert (
            alice.get(f"/v1/quotas/{keystone.projects['p2']['id']}").status_code == 404
        )  # not yours
    finally:
        for u in made:
            carol.delete(f"/v1/containers/{u}?force=True")
        carol.delete(f"/v1/quotas/{p1}")


def test_revoked_token_stops_working_within_the_cache_ttl(secured, keystone):
    token = keystone.token("alice")
    headers = {"X-Auth-Token": token}
    assert secured.http.get("/v1/jobs", headers=headers).status_code == 200
    keystone.admin.revoke(token)
    deadline = time.monotonic() + secured.settings.token_cache_s + 3
    while secured.http.get("/v1/jobs", headers=headers).status_code == 200:
        assert time.monotonic() < deadline, "a revoked token outlived the cache TTL"
        time.sleep(0.2)
    assert secured.http.get("/v1/jobs", headers=headers).status_code == 401


def test_openstack_cli_with_password_auth_through_the_catalog(secured, keystone):
    openstack = str(Path(sys.executable).with_name("openstack"))
    env_args = [
        "--os-auth-url",
        keystone.url,
        "--os-username",
        "alice",
        "--os-password",
        keystone.passwords["alice"],
        "--os-project-name",
        "p1",
        "--os-user-domain-id",
        "default",
        "--os-project-domain-id",
        "default",
        "--os-identity-api-version",
        "3",
    ]
    done = subprocess.run(
        [openstack, *env_args, "appcontainer", "list", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), list)


def test_keystone_down_is_503_never_500(secured, keystone):
    from runner.local import keystone as keystone_local

    fresh = keystone.token("bob")  # never seen by the gateway: it must ask Keystone
    keystone_local.stop(keystone.home)
    try:
        resp = secured.http.get("/v1/jobs", headers={"X-Auth-Token": fresh})
        assert resp.status_code == 503
        assert "Keystone unreachable" in resp.json()["errors"][0]["detail"]
    finally:
        keystone_local.serve(keystone.home, port=keystone.port)


def test_token_of_a_disabled_project_is_401(secured, keystone):
    fresh = keystone.token("bob")
    keystone.admin.set_project_enabled(keystone.projects["p2"]["id"], False)
    try:
        assert secured.http.get("/v1/jobs", headers={"X-Auth-Token": fresh}).status_code == 401
    finally:
        keystone.admin.set_project_enabled(keystone.projects["p2"]["id"], True)


def test_a_member_gets_404_for_another_projects_usage_and_its_own_otherwise(as_user, keystone):
    alice = as_user("alice")
    other = keystone.projects["p2"]["id"]
    assert alice.get("/v1/usage", params={"project_id": other}).status_code == 404
    assert alice.get("/v1/usage", params={"all_projects": "true"}).status_code == 403
    assert alice.get("/v1/usage").status_code == 200


def test_dashboard_with_an_expired_token_goes_back_to_the_login_step(secured, keystone):
    from tests.browser import browser_page, screenshot

    with browser_page() as page:
        page.add_init_script("sessionStorage.setItem('zunray-token', 'an-expired-token')")
        page.goto(f"{secured.settings.gateway_url}/dashboard")
        page.wait_for_selector("#login:not([hidden])")
        assert "expired" in page.inner_text("#login-note") and page.locator("#app").is_hidden()
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "wrong")
        page.fill("input[name=project]", "p1")
        page.click("button[type=submit]")
        page.wait_for_function("document.querySelector('#login-error').textContent.length > 0")
        page.fill("input[name=password]", keystone.passwords["alice"])
        page.click("button[type=submit]")
        page.wait_for_selector("#app:not([hidden])")
        page.wait_for_function(
            "document.querySelector('#hosts').textContent.includes('Hosts are shown to admins')"
        )  # alice is a member
        screenshot(page, "dashboard-member.png")


def test_another_projects_secret_is_404_and_referencing_it_is_the_unknown_names_400(as_user):
    alice, bob = as_user("alice"), as_user("bob")
    made = alice.post("/v1/secrets", json={"name": "p1-db", "value": "p1-only-value"})
    assert made.status_code == 201, made.text
    try:
        for call in (
            lambda: bob.get("/v1/secrets/p1-db"),
            lambda: bob.put("/v1/secrets/p1-db", json={"value": "x"}),
            lambda: bob.delete("/v1/secrets/p1-db"),
        ):
            assert call().status_code == 404
        assert bob.get("/v1/secrets").json() == {"secrets": []}

        def refusal(name: str) -> str:
            body = {**JOB, "secrets": [{"secret": name, "env": "DB"}]}
            resp = bob.post("/v1/jobs", json=body)
            assert resp.status_code == 400
            return resp.json()["errors"][0]["detail"].replace(name, "NAME")

        assert refusal("p1-db") == refusal("never-made")  # no oracle
        assert alice.get("/v1/secrets/p1-db").json()["project_id"] == made.json()["project_id"]
    finally:
        alice.delete("/v1/secrets/p1-db")
