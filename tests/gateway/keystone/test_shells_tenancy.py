"""Interactive shells under Keystone: only the container's project gets a websocket URL, the URL
works once, and the websocket relays a shell (websocket-client, as zunclient connects)."""

from __future__ import annotations

import re
import struct
import time

import pytest
import websocket

from tests.tenancy import delete_and_wait

pytestmark = [pytest.mark.docker, pytest.mark.ray]

SHELL = {"command": "/bin/sh", "run": "false", "interactive": "true"}


def _running(client, path: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 90
    while (status := client.get(path).json()["status"]) != "Running":
        assert time.monotonic() < deadline, status
        time.sleep(0.3)


def _shells(client, path: str) -> list:  # noqa: ANN001
    return [p for p in client.get(f"{path}/top").json()["Processes"] if p[-1] == "/bin/sh"]


def _until(ws: websocket.WebSocket, pattern: bytes) -> bytes:
    seen = b""
    while not re.search(pattern, seen):
        seen += ws.recv()
    return seen


def _ended_by(ws: websocket.WebSocket, data: bytes) -> int | str:
    """Send ``data``; the close code the server ends with ("reset" if it drops the connection
    while the message is still being sent; a timeout if it takes the message)."""
    try:
        ws.send_binary(data)
        while True:
            opcode, frame = ws.recv_data_frame(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return struct.unpack("!H", frame.data[:2])[0]
    except (ConnectionResetError, BrokenPipeError):
        return "reset"


def test_shells_are_the_containers_project_and_a_url_works_once(as_user, secured):
    alice, bob, carol = as_user("alice"), as_user("bob"), as_user("carol")
    body = {
        "image": "busybox:latest",
        "command": ["/bin/sh"],
        "interactive": True,
        "cpu": 0.1,
        "memory": 16,
    }
    created = alice.post("/v1/containers?run=true", json=body)
    assert created.status_code == 202, created.text
    ctr = created.json()
    path = f"/v1/containers/{ctr['uuid']}"
    try:
        _running(alice, path)
        # another project's member: every shell route is 404, as for any of alice's objects
        assert bob.post(f"{path}/execute", params=SHELL).status_code == 404
        assert bob.get(f"{path}/attach").status_code == 404
        assert bob.post(f"{path}/resize", params={"h": 24, "w": 80}).status_code == 404
        assert (
            bob.post(f"{path}/execute_resize", params={"exec_id": "e", "h": 2, "w": 2}).status_code
            == 404
        )

        session = alice.post(f"{path}/execute", params=SHELL).json()
        url = session["proxy_url"]
        assert url.startswith(
            secured.settings.gateway_url.replace("http://", "ws://") + "/v1/shell?"
        )
        assert (
            session["output"] is None and session["exit_code"] is None and session["exec_id"] in url
        )
        ws = websocket.create_connection(url, subprotocols=["binary", "base64"], timeout=30)
        try:
            assert ws.getsubprotocol() == "binary"  # what zunclient's websocket-client insists on
            ws.send_binary(b"echo hi-$((6*7))-marker\r")
            assert b"hi-42-marker" in _until(ws, rb"\nhi-42-marker")
            resized = alice.post(
                f"{path}/execute_resize", params={"exec_id": session["exec_id"], "h": 30, "w": 100}
            )
            assert resized.status_code == 200, resized.text
            ws.send_binary(b"stty size\r")
            _until(ws, rb"\n30 100")
            # over shell_frame_max_bytes: the session ends (1009, or a reset while it is sent)
            assert _ended_by(ws, b"x" * 70_000) in (1009, "reset")
        finally:
            ws.close()
        # the abandoned exec's shell ends too (Docker keeps an exec whose stream closed running)
        deadline = time.monotonic() + 20
        while (
            len(shells := _shells(alice, path)) > 1
        ):  # the container's own (under docker-init) stays
            assert time.monotonic() < deadline, shells
            time.sleep(0.3)
        for used_or_guessed in (url, url.replace("token=", "token=x")):
            with pytest.raises(websocket.WebSocketBadStatusException) as refused:
                websocket.create_connection(used_or_guessed, timeout=30)
            assert refused.value.status_code == 403
        attach_url = alice.get(f"{path}/attach").json()
        assert attach_url.startswith("ws://") and "exec_id" not in attach_url
    finally:
        delete_and_wait(carol, path, force="True")  # a member may not force a delete
