"""Cron schedules through HTTP, Ray and Docker; each fire time happens once or is recorded."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
import ray

from runner.ray_connect import SCHEDULES

pytestmark = [pytest.mark.docker, pytest.mark.ray]

JOB = {
    "image": "busybox:latest",
    "command": ["echo", "tick"],
    "resources": {"cpu": 0.1, "memory_mb": 16},
}


def runs(zunray, sid):
    return zunray.http.get(f"/v1/schedules/{sid}/runs").json()["runs"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"starting_deadline_s": 1}, "starting_deadline_s"),
        ({"job": {**JOB, "resources": {"cpu": -1}}}, "job.resources.cpu"),
        ({"concurrency_policy": "Sometimes"}, "concurrency_policy"),
        ({"job": {**JOB, "sysctls": {"kernel.panic": "1"}}}, "sysctls"),
        ({"job": {**JOB, "resources": {"cpu": 1, "hugepages_2m_pages": 8}}}, "memory_mb"),
    ],
    ids=[
        "bad-cron",
        "bad-zone",
        "short-deadline",
        "bad-job",
        "bad-policy",
        "sysctl-not-allowed",
        "hugepages-without-memory",
    ],
)
def test_bad_schedules_are_refused_naming_the_field(zunray, change, field):
    resp = zunray.http.post(
        "/v1/schedules", json={"name": "bad", "cron": "* * * * *", "job": JOB, **change}
    )
    assert resp.status_code == 400, resp.text
    assert field in resp.json()["errors"][0]["detail"]
    assert zunray.http.get("/v1/schedules").json()["schedules"] == []


def test_every_fire_time_happens_once_across_a_schedule_actor_restart(zunray, ray_driver):
    s = zunray.http.post(
        "/v1/schedules",
        json={
            "name": "every-2s",
            "cron": "*/2 * * * * *",
            "job": JOB,
            "starting_deadline_s": 30,
            "successful_history_limit": 50,
        },
    ).json()
    try:
        time.sleep(5)
        ray.kill(
            ray.get_actor(SCHEDULES, namespace=zunray.settings.ray_namespace), no_restart=False
        )
        time.sleep(6)
        zunray.http.patch(f"/v1/schedules/{s['id']}", json={"suspend": True})
        time.sleep(1.5)  # let the last started jobs finish
        got = sorted(runs(zunray, s["id"]), key=lambda r: r["scheduled_at"])
        times = [datetime.fromisoformat(r["scheduled_at"]).timestamp() for r in got]
        assert len(got) >= 4
        assert len(set(times)) == len(times)  # once per fire time
        assert all(
            b - a == pytest.approx(2.0) for a, b in zip(times, times[1:])
        )  # none lost, even across the restart
        assert all(r["outcome"] in ("Started", "Missed") for r in got)
        started = [r for r in got if r["outcome"] == "Started"]
        assert len({r["job_id"] for r in started}) == len(started)
        for r in started:
            job = zunray.http.get(f"/v1/jobs/{r['job_id']}", params={"wait_s": 20}).json()
            assert job["status"] == "Succeeded"
            assert zunray.http.get(f"/v1/jobs/{r['job_id']}/logs").text == "tick\n"
    finally:
        zunray.http.delete(f"/v1/schedules/{s['id']}?purge=true")


def test_forbid_skips_while_the_previous_run_is_active(zunray):
    job = {**JOB, "command": ["sleep", "5"]}
    s = zunray.http.post(
        "/v1/schedules",
        json={
            "name": "forbid",
            "cron": "*/2 * * * * *",
            "job": job,
            "concurrency_policy": "Forbid",
            "starting_deadline_s": 10,
        },
    ).json()
    try:
        time.sleep(7)
        zunray.http.patch(f"/v1/schedules/{s['id']}", json={"suspend": True})
        got = runs(zunray, s["id"])
        assert any(r["outcome"] == "Skipped" and "(Forbid)" in r["reason"] for r in got)
        assert any(r["outcome"] == "Started" for r in got)
    finally:
        for r in runs(zunray, s["id"]):
            if r["job_id"]:
                zunray.http.post(f"/v1/jobs/{r['job_id']}/cancel")
        zunray.http.delete(f"/v1/schedules/{s['id']}")


def test_the_cli_manages_schedules(zunray, monkeypatch, capsys):
    from runner.cli.main import main as cli_main

    for key, value in zunray.settings.to_env().items():
        monkeypatch.setenv(key, value)
    assert (
        cli_main(
            [
                "schedule",
                "create",
                "--name",
                "nightly",
                "--cron",
                "0 3 * * *",
                "--time-zone",
                "Europe/Paris",
                "--starting-deadline-s",
                "600",
                "busybox:latest",
                "echo",
                "hi",
            ]
        )
        == 0
    )
    sid = capsys.readouterr().out.split()[1]
    assert cli_main(["schedule", "list"]) == 0
    listed = capsys.readouterr().out
    assert "nightly" in listed and "Europe/Paris" in listed
    assert cli_main(["schedule", "suspend", sid]) == 0
    assert capsys.readouterr().out == f"schedule {sid} suspended\n"
    assert zunray.http.get(f"/v1/schedules/{sid}").json()["suspend"] is True
    assert cli_main(["schedule", "delete", sid, "--purge"]) == 0
    assert zunray.http.get(f"/v1/schedules/{sid}").status_code == 404


def test_replace_cancels_the_running_job_and_starts_the_new_one(zunray):
    job = {**JOB, "command": ["sleep", "30"]}
    s = zunray.http.post(
        "/v1/schedules",
        json={
            "name": "replace",
            "cron": "*/3 * * * * *",
            "job": job,
            "concurrency_policy": "Replace",
            "starting_deadline_s": 10,
        },
    ).json()
    try:
        deadline = time.monotonic() + 20
        while len([r for r in runs(zunray, s["id"]) if r["outcome"] == "Started"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        zunray.http.patch(f"/v1/schedules/{s['id']}", json={"suspend": True})
        started = sorted(
            (r for r in runs(zunray, s["id"]) if r["outcome"] == "Started"),
            key=lambda r: r["scheduled_at"],
        )
        first = zunray.wait(started[0]["job_id"], timeout_s=30)
        assert first["status"] == "Cancelled"
    finally:
        for r in runs(zunray, s["id"]):
            if r["job_id"]:
                zunray.http.post(f"/v1/jobs/{r['job_id']}/cancel")
        zunray.http.delete(f"/v1/schedules/{s['id']}")


def test_a_schedule_runs_an_nfv_job_template(zunray):
    job = {
        **JOB,
        "command": [
            "sh",
            "-c",
            "cat /proc/sys/net/ipv4/ip_forward; ip link set lo mtu 1400 && echo nfv-ok",
        ],
        "capabilities": ["NET_ADMIN"],
        "sysctls": {"net.ipv4.ip_forward": "1"},
        "cpu_policy": "dedicated",
        "resources": {"cpu": 1, "memory_mb": 32},
    }
    resp = zunray.http.post(
        "/v1/schedules",
        json={"name": "nfv", "cron": "*/2 * * * * *", "job": job, "concurrency_policy": "Forbid"},
    )
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    try:
        deadline = time.monotonic() + 30
        while not (
            started := [
                r for r in runs(zunray, sid) if r["job_id"] and r["job_status"] == "Succeeded"
            ]
        ):
            assert time.monotonic() < deadline, runs(zunray, sid)
            time.sleep(0.5)
        assert zunray.http.get(f"/v1/jobs/{started[0]['job_id']}/logs").text.split() == [
            "1",
            "nfv-ok",
        ]
    finally:
        zunray.http.delete(f"/v1/schedules/{sid}")
