"""The real `openstack appcontainer` CLI (python-openstackclient + python-zunclient)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]

OPENSTACK = str(Path(sys.executable).with_name("openstack"))


def openstack(zunray, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    argv = [
        OPENSTACK,
        "--os-auth-type",
        "admin_token",
        "--os-endpoint",
        f"{zunray.settings.gateway_url}/v1",
        "--os-token",
        "noauth-token",
        *args,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_run_list_exec_delete_through_the_cli(zunray):
    created = json.loads(
        openstack(
            zunray,
            "appcontainer",
            "run",
            "--name",
            "cli-web",
            "--cpu",
            "0.5",
            "--memory",
            "64",
            "--wait",
            "-f",
            "json",
            "busybox:latest",
            "sleep",
            "600",
        ).stdout
    )
    try:
        assert created["name"] == "cli-web"
        listed = json.loads(openstack(zunray, "appcontainer", "list", "-f", "json").stdout)
        assert any(c["name"] == "cli-web" and c["status"] == "Running" for c in listed)
        done = openstack(
            zunray,
            "appcontainer",
            "exec",
            "cli-web",
            "sh",
            "-c",
            "echo from-cli; exit 2",
            check=False,
        )
        assert "from-cli" in done.stdout and done.returncode == 2
        assert (
            zunray.containers(uuid=created["uuid"])[0].attrs["HostConfig"]["Memory"]
            == 64 * 1024 * 1024
        )
    finally:
        openstack(zunray, "appcontainer", "delete", "--force", "cli-web")
    assert zunray.no_containers(created["uuid"])
