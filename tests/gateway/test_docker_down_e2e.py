"""With no reachable Docker engine, submissions are refused and /healthz says why."""

from __future__ import annotations

import pytest

from runner.cli.main import main as cli_main
from tests.conftest import run_stack, test_settings

pytestmark = [pytest.mark.ray]


@pytest.fixture(scope="module")
def dockerless(tmp_path_factory):
    yield from run_stack(
        test_settings(
            tmp_path_factory.mktemp("dockerless"), docker_url="unix:///nonexistent/docker.sock"
        )
    )


def test_submission_is_refused_with_503_and_healthz_says_why(dockerless):
    health = dockerless.http.get("/healthz")
    assert health.status_code == 503 and int(health.headers["Retry-After"]) >= 1
    assert any("Docker engine unreachable" in p for p in health.json()["problems"])
    resp = dockerless.http.post("/v1/jobs", json={"image": "busybox:latest", "command": ["true"]})
    assert (
        resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    )  # asking again at once would not help
    assert "Docker engine unreachable" in resp.json()["errors"][0]["detail"]
    assert dockerless.http.get("/v1/jobs").json()["jobs"] == []


def test_zunray_status_exits_non_zero_and_prints_the_reason(dockerless, monkeypatch, capsys):
    for key, value in dockerless.settings.to_env().items():
        monkeypatch.setenv(key, value)
    assert cli_main(["status"]) == 1
    assert "Docker engine unreachable" in capsys.readouterr().out
