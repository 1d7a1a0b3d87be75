"""Interactive shells with the real client: `openstack appcontainer exec --interactive` and
`openstack appcontainer attach` driven in a pseudo-terminal, as a user types in them."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time

import pytest

from tests.conftest import ZUN_HEADERS
from tests.gateway.zun.test_openstack_cli import OPENSTACK

pytestmark = [pytest.mark.docker, pytest.mark.ray]

ROWS, COLS = 40, 120


class Terminal:
    """A command on a pseudo-terminal of ROWS x COLS: what it prints, what is typed into it."""

    def __init__(self, argv: list[str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: its terminal's size, then the command
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.execv(argv[0], argv)
        self.pid, self.fd, self.seen = pid, fd, b""

    def expect(self, pattern: bytes, *, timeout_s: float = 60.0) -> re.Match:
        """Wait until what it printed matches ``pattern``; the match (the text is consumed up to it)."""
        deadline = time.monotonic() + timeout_s
        while not (found := re.search(pattern, self.seen)):
            left = deadline - time.monotonic()
            assert left > 0, f"{pattern!r} not seen; the terminal shows {self.seen[-2000:]!r}"
            if select.select([self.fd], [], [], left)[0]:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:  # the command ended
                    assert False, f"{pattern!r} not seen before the end: {self.seen[-2000:]!r}"
        self.seen = self.seen[found.end() :]
        return found

    def wait_raw(self, *, timeout_s: float = 30.0) -> None:
        """Until the command put its terminal in raw mode (what is typed before is flushed)."""
        deadline = time.monotonic() + timeout_s
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            assert time.monotonic() < deadline, (
                f"never raw; the terminal shows {self.seen[-2000:]!r}"
            )
            time.sleep(0.05)

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def exit_code(self, *, timeout_s: float = 30.0) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with_output = select.select([self.fd], [], [], 0.2)[0]
            if with_output:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = 0
                return os.waitstatus_to_exitcode(status)
        raise AssertionError(f"still running; the terminal shows {self.seen[-2000:]!r}")

    def close(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def openstack_argv(zunray, *args: str) -> list[str]:  # noqa: ANN001
    return [
        OPENSTACK,
        "--os-auth-type",
        "admin_token",
        "--os-endpoint",
        f"{zunray.settings.gateway_url}/v1",
        "--os-token",
        "noauth-token",
        *args,
    ]


def _shell_session(term: Terminal) -> None:
    """Type a marker command and the TTY's size into the shell, read both back, leave."""
    term.expect(b"connected to")
    term.wait_raw()
    term.type(
        "\r"
    )  # a prompt (zunclient's "press Enter"; an attached shell printed its own before)
    term.expect(b"# ")
    term.type("echo hi-$RANDOM-marker\r")
    term.expect(rb"\nhi-\d+-marker")  # the shell's answer, not the echo of what was typed
    term.type("stty size\r")
    term.expect(f"\n{ROWS} {COLS}".encode())  # zunclient sent the terminal's size (resize)
    term.type("exit\r")
    assert term.exit_code() == 0, term.seen


def test_exec_interactive_and_attach_in_a_terminal(zunray):
    resp = zunray.http.post(
        "/v1/containers",
        params={"run": "true"},
        headers=ZUN_HEADERS,
        json={
            "name": "shell-cli",
            "image": "busybox:latest",
            "command": ["/bin/sh"],
            "interactive": True,
            "cpu": 0.25,
            "memory": "64",
        },
    )
    assert resp.status_code == 202, resp.text
    uuid = resp.json()["uuid"]
    terms = []
    try:
        zunray.container_until(uuid, "Running")
        terms.append(
            Terminal(
                openstack_argv(
                    zunray, "appcontainer", "exec", "--interactive", "shell-cli", "/bin/sh"
                )
            )
        )
        _shell_session(terms[-1])  # exit ends the exec's shell; the container runs on
        assert zunray.container_until(uuid, "Running")
        terms.append(Terminal(openstack_argv(zunray, "appcontainer", "attach", "shell-cli")))
        _shell_session(terms[-1])  # exit ends the container's own shell: it stops
        zunray.container_until(uuid, "Stopped")
    finally:
        for term in terms:
            term.close()
        zunray.delete_container(uuid)
