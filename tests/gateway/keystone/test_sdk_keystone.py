"""The SDK and the CLI against the real Keystone: a keystoneauth1 session (as
python-zunclient takes one) finds the gateway in the catalog, acts in its user's
project, and logs in again when its token is revoked; the CLI logs in through
``--os-*`` options and clouds.yaml."""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from runner import Client
from runner.cli.main import main as cli_main
from runner.models import JobStatus

pytestmark = [pytest.mark.docker, pytest.mark.ray]
SMALL = {"cpu": 0.1, "memory_mb": 16}


def _password(keystone, user: str, project: str) -> v3.Password:  # noqa: ANN001
    return v3.Password(
        auth_url=keystone.url,
        username=user,
        password=keystone.passwords[user],
        project_name=project,
        user_domain_id="default",
        project_domain_id="default",
    )


def test_a_session_lists_and_submits_as_alice_and_renews_a_revoked_token(secured, keystone):
    session = ks_session.Session(auth=_password(keystone, "alice", "p1"))
    with Client(session=session) as zr:  # no URL: the catalog's container endpoint
        assert str(zr.http.base_url) == secured.settings.gateway_url
        job = zr.submit("busybox:latest", ["echo", "as alice"], resources=SMALL)
        assert job.project_id == keystone.projects["p1"]["id"]
        assert job.id in [j.id for j in zr.jobs()]
        assert zr.wait(job.id, timeout_s=60).status is JobStatus.SUCCEEDED
        first = session.get_token()
        revoked = httpx.delete(
            f"{keystone.url}/auth/tokens",
            headers={"X-Auth-Token": keystone.admin.token, "X-Subject-Token": first},
        )
        assert revoked.status_code == 204
        time.sleep(
            secured.settings.token_cache_s + 0.5
        )  # past the gateway's cache of validations: it asks Keystone again
        assert (
            zr.logs(job.id) == b"as alice\n"
        )  # refused once, then sent again with a token the session fetched anew
        assert session.get_token() != first


def test_the_cli_logs_in_with_os_options_or_a_cloud_of_clouds_yaml(
    secured, keystone, monkeypatch, capsys, tmp_path
):
    for key in [k for k in os.environ if k.startswith("OS_") or k.startswith("ZUNRAY_")]:
        monkeypatch.delenv(key)
    alice = [
        "--os-auth-url",
        keystone.url,
        "--os-username",
        "alice",
        "--os-project-name",
        "p1",
        "--os-user-domain-id",
        "default",
        "--os-project-domain-id",
        "default",
    ]
    assert (
        cli_main(
            [
                *alice,
                "--os-password",
                keystone.passwords["alice"],
                "submit",
                "-d",
                "busybox:latest",
                "--",
                "true",
            ]
        )
        == 0
    )
    job_id = capsys.readouterr().out.split()[1]
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        f"clouds:\n  lab:\n    auth:\n      auth_url: {keystone.url}\n      username: bob\n"
        f"      password: {keystone.passwords['bob']}\n"
        "      project_name: p2\n      user_domain_id: default\n      project_domain_id: default\n"
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    monkeypatch.setenv("OS_CLOUD", "lab")
    assert cli_main(["jobs", "-f", "json", "-c", "id"]) == 0
    assert job_id not in [
        j["id"] for j in json.loads(capsys.readouterr().out)
    ]  # bob's project does not see alice's job
    monkeypatch.delenv("OS_CLOUD")
    assert (
        cli_main([*alice, "--os-password", "wrong", "jobs"]) == 125
    )  # Keystone refused: a Zunray error, not a job's code
    assert "Traceback" not in capsys.readouterr().err
    assert (
        cli_main(["--url", secured.settings.gateway_url, "jobs"]) == 125
    )  # no credentials: the gateway's 401
