"""A project's network reaches nothing on the host (Ray, the gateway, Keystone)."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.conftest import free_port

pytestmark = [pytest.mark.docker, pytest.mark.ray]

PROBE = 'gw=$(ip route | awk "/default/ {print \\$3}"); echo gw=$gw; echo ping | nc -w 3 $gw {port} || echo unreachable'


@pytest.fixture
def host_service():
    """A control-plane stand-in: a TCP service on all host interfaces that answers pong."""
    port = free_port(low=21000)
    server = socket.create_server(("0.0.0.0", port))
    server.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"pong\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join(2)
    server.close()


def test_project_network_is_fenced_off_from_the_host(zunray, host_service):
    script = PROBE.replace("{port}", str(host_service))
    job = zunray.submit(
        command=["sh", "-c", "ip -4 addr show eth0 | grep -c inet; " + script], network="project"
    )
    done = zunray.wait(job["id"])
    assert done["status"] == "Succeeded", done
    assert done["network"] == "project"
    logs = zunray.http.get(f"/v1/jobs/{job['id']}/logs").text
    assert logs.startswith("1\n")  # it has an address on the project's network
    assert "gw=" in logs and "pong" not in logs and "unreachable" in logs
    # control: the same probe from Docker's default bridge, with no fence, does reach the service
    control = zunray.docker.containers.create(
        "busybox:latest", ["sh", "-c", script], network="bridge"
    )
    try:  # removed even when it cannot start
        control.start()
        control.wait(timeout=60)
        out = control.logs()
    finally:
        control.remove(force=True)
    assert b"pong" in out


def test_runsc_jobs_cannot_ask_for_a_network(zunray):
    resp = zunray.http.post(
        "/v1/jobs", json={"image": "busybox:latest", "runtime": "runsc", "network": "project"}
    )
    assert resp.status_code == 400 and "network" in resp.json()["errors"][0]["detail"]
