"""`zunray up` brings everything back: after `zunray down` with functions that had warm
instances (the new function actor starts before any node actor exists and must not fail on
that), after any one of its processes was killed, and after a reboot left stale PID files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import docker
import httpx
import pytest

from runner.functions.model import InstanceStatus
from runner.local import procs, stack
from runner.store import Store
from tests.conftest import run_stack, test_settings

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(400)]


def test_up_after_down_with_warm_function_instances(tmp_path_factory):
    settings = test_settings(
        tmp_path_factory.mktemp("downup")
    )  # short: unix socket paths are under 108 bytes
    gen = run_stack(settings)
    zr = next(gen)
    try:
        made = zr.http.post(
            "/v1/functions",
            json={
                "name": "warm",
                "image": "zunray/python:3.11",
                "handler": "app:handle",
                "code": "def handle(n):\n    return n + 1\n",
            },
        )
        assert made.status_code == 201, made.text
        assert zr.http.post("/v1/functions/warm/invoke", json=1).json() == 2  # a warm instance now
        stack.down(settings)  # Ray goes; the instance's container stays
        store = Store(settings.store_url_resolved)
        try:  # as when `down` came while the instance was being stopped (idle, or its function changed)
            (inst,) = store.functions.list_instances()
            store.functions.transition_instance(
                inst.uuid, InstanceStatus.STOPPING, reason="stopping"
            )
        finally:
            store.close()
        body = stack.up(
            settings
        )  # failed before: the function actor stopped instances through missing node actors
        assert body["status"] == "ok", body
        with httpx.Client(base_url=settings.gateway_url, timeout=60) as http:
            resp = http.post("/v1/functions/warm/invoke", json=41)
            assert resp.status_code == 200 and resp.json() == 42, resp.text
        engine = docker.from_env()
        try:  # the old instance's container is ended by the new node actor, not left behind
            old = engine.containers.list(
                all=True,
                filters={
                    "label": [f"zunray.instance={settings.instance}", f"zunray.uuid={inst.uuid}"]
                },
            )
            assert not old, [c.name for c in old]
        finally:
            engine.close()
    finally:
        gen.close()


def _kill(name: str, settings) -> dict[int, int | None]:  # noqa: ANN001
    """SIGKILL the process ``zunray up`` recorded for ``name``, only it; returns its tree as it was (with start times)."""
    pid = procs.recorded(name, settings.run_dir)
    assert pid is not None, f"{name} is not running"
    tree = {p: procs.start_ticks(p) for p in procs.descendants(pid)}
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while procs.alive(pid):
        assert time.monotonic() < deadline, f"{name} ({pid}) survived SIGKILL"
        time.sleep(0.1)
    return tree


def _runs_a_job(zr) -> None:  # noqa: ANN001
    job = zr.submit(command=["echo", "back"])
    assert zr.wait(job["id"])["status"] == "Succeeded"
    assert zr.http.get(f"/v1/jobs/{job['id']}/logs").text == "back\n"


def test_up_after_a_killed_process_or_stale_pid_files(tmp_path_factory):
    settings = test_settings(tmp_path_factory.mktemp("crash"))
    gen = run_stack(settings)
    zr = next(gen)
    stranger = None
    try:
        _kill("gateway", settings)
        assert stack.up(settings)["status"] == "ok"
        _runs_a_job(zr)

        running = zr.submit(command=["sh", "-c", "sleep 6; echo outlived"])
        zr.wait(running["id"], until=("Running",))
        old_head = _kill(
            "ray", settings
        )  # Ray's processes share its fate, but not all: its agents lived on
        assert (
            stack.up(settings)["status"] == "ok"
        )  # before: the cut-off gateway answered, `up` said unavailable
        left = [
            p for p, ticks in old_head.items() if procs.alive(p) and procs.start_ticks(p) == ticks
        ]
        assert not left, f"processes of the killed Ray head were left running: {left}"
        done = zr.wait(running["id"], timeout_s=90)
        assert done["status"] == "Succeeded", done
        assert zr.http.get(f"/v1/jobs/{running['id']}/logs").text == "outlived\n"
        _runs_a_job(zr)

        # a reboot: the PID files stayed, their numbers now name someone else's process
        stack.down(settings)
        stranger = subprocess.Popen(["sleep", "300"])
        record = {
            "pid": stranger.pid,
            "start_ticks": procs.start_ticks(stranger.pid) + 1,
            "boot_id": procs.boot_id(),
            "spawn_id": "0" * 32,
        }
        (settings.run_dir / "gateway.pid").write_text(json.dumps(record))
        (settings.run_dir / "ray.pid").write_text(
            str(stranger.pid)
        )  # a bare PID, as older versions wrote
        assert (
            stack.up(settings)["status"] == "ok"
        )  # before: `up` believed Ray ran and the gateway found none
        _runs_a_job(zr)
        assert sorted(stack.down(settings)) == ["gateway", "ray"]
        assert stranger.poll() is None, "a process up did not start was killed"
    finally:
        gen.close()
        if stranger is not None:
            stranger.kill()
            stranger.wait()
