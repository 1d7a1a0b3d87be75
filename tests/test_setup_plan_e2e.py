"""`make demo` installs only what running needs; the test tools come with `make test`.

The set-up script runs in a clean Debian container (the locally built python image:
Debian with python3 and nothing else, no network) in its `--plan` mode, which says
which Debian packages it would install on that machine and changes nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[1]
RUNNING = {"docker.io", "runsc", "busybox-static", "iptables", "mmdebstrap", "qemu-system-x86"}
TEST_TOOLS = {"chromium", "postgresql", "docker-registry", "apache2-utils"}


def _plan(*flags: str) -> set[str]:
    """The packages set-up would install on a fresh Debian machine."""
    out = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            f"{ROOT}:/src:ro",
            "zunray/python:3.11",
            "bash",
            "/src/scripts/setup.sh",
            "--plan",
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip().splitlines()[-1]
    assert line.startswith("packages:"), out.stdout
    return set(line.removeprefix("packages:").split())


def _make_recipe(target: str) -> str:
    return subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_demo_installs_what_running_needs_and_no_test_tools():
    assert "scripts/setup.sh\n" in _make_recipe("demo")  # no --with-test-tools
    packages = _plan()
    assert RUNNING <= packages
    assert not packages & TEST_TOOLS


def test_test_command_adds_the_test_tools():
    assert "scripts/setup.sh --with-test-tools" in _make_recipe("test")
    assert RUNNING | TEST_TOOLS <= _plan("--with-test-tools")


def test_an_unknown_option_is_refused_before_anything_is_installed():
    out = subprocess.run(
        ["bash", str(ROOT / "scripts/setup.sh"), "--with-test-tool"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "usage:" in out.stderr
