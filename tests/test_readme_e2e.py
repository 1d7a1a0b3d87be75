"""Every shell and Python example in README.md runs as written, against a live stack.

Shell blocks (sh, bash, console) run as one `bash -e -o pipefail` script, so any command
that fails fails the block; `curl` gets `--fail-with-body`, so an HTTP error does too.
Python blocks run with this interpreter, and a `print(...)  # value` line must print that
value (up to a `...`). `localhost:9517` and `127.0.0.1:9517` become the test stack's
gateway; the `zunray` CLI finds that stack through the `ZUNRAY_*` environment.

A block that cannot run here has `<!-- not-run: reason -->` on the line above it: it is
reported as skipped with that reason, and at most NOT_RUN_MAX blocks may be. A block that
starts Zunray itself (`zunray up`, and so `zunray down`) gets a stack of its own, so that
the shared one stays up. Python blocks of one README section run in order (the Ray example
invokes the function the HTTP example registered).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from runner.local import stack
from tests.conftest import remove_stack, test_settings

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NOT_RUN_MAX = 3  # today: `make demo/test`, the Keystone walk-through and the SDK's Keystone session
BLOCK_TIMEOUT_S = 300.0
SHELLS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(.*?)\s*-->$")
README_URL = re.compile(r"\b(?:localhost|127\.0\.0\.1):9517\b")
PRINTED = re.compile(r"^\s*print\(.*\)\s+#\s*(.+?)\s*$", re.M)


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    section: str
    not_run: str | None  # the reason, from the marker above the block

    @property
    def runs(self) -> bool:
        return self.lang in SHELLS or self.lang == "python"

    def where(self) -> str:
        return f"README.md line {self.line} ({self.lang} block in '{self.section}')"


def readme_blocks(text: str) -> list[Block]:
    blocks, section, prose_from = [], "", 0
    for m in FENCE.finditer(text):
        # headings in the prose since the previous block (a `# comment` inside a block is none)
        section = ([section] + re.findall(r"^#+ (.+)$", text[prose_from : m.start()], re.M))[-1]
        prose_from = m.end()
        before = text[: m.start()].rstrip().rsplit("\n", 1)[-1].strip()
        marker = NOT_RUN.match(before)
        blocks.append(
            Block(
                line=text.count("\n", 0, m.start()) + 1,
                lang=m.group(1),
                code=m.group(2),
                section=section,
                not_run=marker.group(1) if marker else None,
            )
        )
    return blocks


BLOCKS = readme_blocks(README.read_text())


def _block_id(block: Block) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", block.section.lower()).strip("-")
    return f"{slug}-L{block.line}-{block.lang}"


def _console_commands(code: str) -> str:
    """The commands of a console transcript: `$ ` lines and their continuations; the rest is output."""
    commands, continued = [], False
    for line in code.splitlines():
        if continued or line.startswith("$ "):
            commands.append(line if continued else line[2:])
            continued = line.endswith("\\")
    return "\n".join(commands) + "\n"


def _cli_functions() -> str:
    """The console scripts as pyproject.toml declares them, as shell functions: a venv's
    generated script may be older than this checkout (and `. .venv/bin/activate` cannot hide a function)."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    out = []
    for name, target in scripts.items():
        module, func = target.split(":")
        code = f"import sys; sys.argv[0] = {json.dumps(name)}; from {module} import {func}; sys.exit({func}())"
        out.append(f"{name}() {{ {sys.executable} -c '{code}' \"$@\"; }}")
    return "\n".join(out) + "\n"


SHELL_PREAMBLE = (
    "set -eo pipefail\n"
    'curl() { command curl --fail-with-body --show-error --max-time 120 "$@"; }  # an HTTP error fails the block\n'
    + _cli_functions()
)


def _run(block: Block, settings, workdir: Path) -> str:  # noqa: ANN001
    """Run ``block`` against the stack of ``settings``; returns what it printed, or fails saying so."""
    host = settings.gateway_url.removeprefix("http://")
    code = README_URL.sub(host, block.code)
    env = stack.process_env(
        settings
    )  # ZUNRAY_* (the CLI, RayClient) and Ray's token; PYTHONPATH of this run
    env["PATH"] = (
        f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # openstack, pip, ray: this venv's
    )
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if block.lang == "python":
        script = workdir / f"readme_L{block.line}.py"
        script.write_text(code)
        argv = [sys.executable, str(script)]
    else:
        body = _console_commands(code) if block.lang == "console" else code
        argv = ["bash", "-c", SHELL_PREAMBLE + body]
    proc = subprocess.Popen(
        argv,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(
            proc.pid, signal.SIGKILL
        )  # the block's own process group (a `zunray up` starts sessions of its own)
        out, _ = proc.communicate()
        pytest.fail(
            f"{block.where()} did not finish within {BLOCK_TIMEOUT_S:g} s; it printed:\n{_tail(out)}\n"
            f"--- the block ---\n{code}"
        )
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        pytest.fail(
            f"{block.where()} exited {proc.returncode}; it printed:\n{_tail(out)}\n--- the block ---\n{code}"
        )
    if block.lang == "python":
        for expected in PRINTED.findall(code):
            wanted = expected.split("...")[0].rstrip(", ")
            assert wanted in text, (
                f"{block.where()}: the README says a print shows {expected!r}; it printed:\n{text}"
            )
    return text


def _tail(out: bytes, limit: int = 6000) -> str:
    text = out.decode(errors="replace")
    return (
        text
        if len(text) <= limit
        else f"[... {len(text) - limit} characters before]\n{text[-limit:]}"
    )


@pytest.fixture(scope="module")
def ran() -> dict[int, str]:
    """What each block that ran printed, by its line."""
    return {}


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A directory to run in, where `. .venv/bin/activate` finds this interpreter's venv, as in a checkout."""
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    return tmp_path


def test_every_example_is_run_or_marked():
    assert any(b.lang in SHELLS for b in BLOCKS) and any(b.lang == "python" for b in BLOCKS), (
        "no examples found"
    )
    for b in BLOCKS:
        assert b.lang, (
            f"{b.where()} names no language: say sh, python, yaml, ... so it is run or known as data"
        )
    marked = [b for b in BLOCKS if b.not_run]
    assert all(b.runs for b in marked), [b.where() for b in marked if not b.runs]
    assert len(marked) <= NOT_RUN_MAX, (
        "more README blocks marked not-run than before:\n"
        + "\n".join(f"{b.where()}: {b.not_run}" for b in marked)
    )


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.runs], ids=_block_id)
def test_readme_example(block: Block, request, ran, workdir, tmp_path_factory):
    if block.not_run:
        pytest.skip(f"{block.where()} is marked not-run: {block.not_run}")
    if re.search(r"^\s*zunray up\b", block.code, re.M):  # it starts (and stops) a Zunray of its own
        settings = test_settings(tmp_path_factory.mktemp("readme"))
        client = docker.from_env(version="auto")
        try:
            ran[block.line] = _run(block, settings, workdir)
        finally:
            remove_stack(settings, client)
            client.close()
        return
    zunray = request.getfixturevalue("zunray")  # the shared stack, only for the blocks that use it
    if block.lang == "python":
        for earlier in BLOCKS:
            if (
                earlier.lang == "python"
                and earlier.section == block.section
                and earlier.line < block.line
                and earlier.line not in ran
                and not earlier.not_run
            ):
                ran[earlier.line] = _run(earlier, zunray.settings, workdir)
    ran[block.line] = _run(block, zunray.settings, workdir)
