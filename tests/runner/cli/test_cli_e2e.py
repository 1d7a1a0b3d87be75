"""The ``zunray`` command against the shared stack: what a user sees and the exit codes
scripts rely on (``-f json`` parsed back, table headers, ``-c``, Ctrl-C)."""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import tarfile
import time

import docker
import pytest
import yaml

from runner import Client
from runner.cli.jobs import JOB_COLUMNS
from runner.cli.main import main as cli_main
from runner.cli.operator import USAGE_COLUMNS
from tests.conftest import free_port
from tests.registry import SlowProxy, start_registry

pytestmark = [pytest.mark.docker, pytest.mark.ray]
SMALL = {"cpu": 0.25, "memory_mb": 32}


@pytest.fixture(scope="module")
def url(zunray) -> str:
    return zunray.settings.gateway_url


@pytest.fixture(scope="module")
def ended(url):
    """A job that ran and succeeded, to list and show."""
    with Client(url) as zr:
        job = zr.submit(
            "busybox:latest",
            ["sh", "-c", "echo listed"],
            name="cli-listed",
            env={"K": "v"},
            resources=SMALL,
        )
        yield zr.wait(job.id, timeout_s=60)


def _run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = cli_main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_submit_takes_a_spec_file_env_and_workdir_and_exits_with_the_jobs_code(
    url, tmp_path, capsys
):
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "image": "busybox:latest",
                "command": ["sh", "-c", "echo $A $B; pwd; exit 7"],
                "env": {"A": "from-file"},
                "resources": SMALL,
                "name": "from-file",
            }
        )
    )
    code, out, _ = _run(
        capsys,
        "--url",
        url,
        "submit",
        "--file",
        str(spec),
        "-e",
        "B=from-flag",
        "--workdir",
        "/tmp",
        "--name",
        "cli-spec",
    )
    assert code == 7  # the job's own exit code
    assert "from-file from-flag\n/tmp\n" in out
    with Client(url) as zr:
        assert zr.job(out.split()[1]).name == "cli-spec"  # the flag over the file


def test_lists_and_shows_parse_back_with_headers_and_columns(url, ended, capsys):
    code, out, _ = _run(capsys, "--url", url, "jobs", "--status", "Succeeded", "-f", "json")
    rows = json.loads(out)
    assert code == 0 and ended.id in [r["id"] for r in rows]
    assert all(list(r) == list(JOB_COLUMNS) and r["status"] == "Succeeded" for r in rows)
    _, out, _ = _run(
        capsys, "--url", url, "list", "--status", "Succeeded", "-c", "id", "-c", "name"
    )
    lines = out.splitlines()
    assert [c.strip() for c in lines[1].strip("|").split("|")] == ["id", "name"]
    assert f"| {ended.id} | cli-listed |" in out
    _, out, _ = _run(
        capsys, "--url", url, "show", ended.id, "-f", "value", "-c", "status", "-c", "exit_code"
    )
    assert out == "Succeeded\n0\n"
    _, out, _ = _run(capsys, "--url", url, "show", ended.id, "-f", "yaml")
    shown = yaml.safe_load(out)
    assert (
        shown["id"] == ended.id
        and shown["env"] == {"K": "v"}
        and shown["history"][-1]["status"] == "Succeeded"
    )
    _, out, _ = _run(capsys, "--url", url, "show", ended.id)
    assert out.splitlines()[1].split("|")[1].strip() == "Field" and "| id " in out
    for listing in (["function", "list"], ["schedule", "list"]):
        code, out, _ = _run(capsys, "--url", url, *listing, "-f", "json")
        assert code == 0 and isinstance(json.loads(out), list)


@pytest.fixture
def slow_image(zunray, tmp_path):
    """An image not present on the engine, behind a registry that serves it at 2 MB/s (~3 s a pull)."""
    port = free_port(low=25000)
    proc, registry = start_registry(tmp_path, port, auth=False)
    proxy = SlowProxy(free_port(low=port + 1), port, bytes_per_s=2_000_000)
    registry.domain = f"127.0.0.1:{proxy.port}"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (
            ("Dockerfile", b"FROM busybox:latest\nCOPY blob /blob\n"),
            ("blob", os.urandom(6_000_000)),  # incompressible: 6 MB on the wire
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    built, _ = zunray.docker.images.build(fileobj=context, custom_context=True, rm=True)
    ref = registry.push(zunray.docker, built.id, "zunray-test/pulled", "1")  # and gone from here
    try:
        yield ref
    finally:
        proxy.close()
        proc.terminate()
        proc.wait()
        for image in (ref, built.id):
            try:
                zunray.docker.images.remove(image, force=True)
            except docker.errors.ImageNotFound:
                pass


def test_submit_shows_how_far_the_pull_of_a_new_image_got(url, slow_image, capsys):
    code, out, _ = _run(capsys, "--url", url, "submit", slow_image, "--", "ls", "/blob")
    assert code == 0 and "\n/blob\n" in out
    pulled = re.findall(
        rf"Starting +pulling {re.escape(slow_image)}: [0-9.]+ MB of [0-9.]+ MB", out
    )
    assert pulled, out  # what the user saw while the job was Starting


def test_usage_list_shows_what_a_job_used(url, ended, capsys):
    code, out, _ = _run(capsys, "--url", url, "usage", "list", "-f", "json")
    [record] = [r for r in json.loads(out) if r["name"] == "cli-listed"]  # its one attempt
    assert code == 0 and list(record) == list(USAGE_COLUMNS)
    assert record["kind"] == "job" and record["status"] == "Succeeded" and record["cpu_s"] > 0
    assert record["ended_at"].endswith("+00:00")  # a time a person reads, in UTC
    _, out, _ = _run(capsys, "--url", url, "usage", "list", "-c", "name", "-c", "status")
    assert out.splitlines()[1].split() == ["|", "name", "|", "status", "|"]
    assert re.search(r"\| cli-listed +\| Succeeded +\|", out), out


def test_exit_codes_tell_usage_from_zunray_errors(url, capsys):
    with Client(url) as zr:
        job = zr.wait(zr.submit("busybox:latest", ["true"], resources=SMALL).id, timeout_s=60)
    code, _, err = _run(capsys, "--url", url, "jobs", "-c", "nope")
    assert code == 2 and "no column named nope" in err
    assert _run(capsys, "--url", url, "delete", job.id)[:2] == (0, f"job {job.id} deleted\n")
    code, _, err = _run(capsys, "--url", url, "show", job.id)
    assert code == 125 and "zunray show:" in err and "Traceback" not in err


def test_ctrl_c_on_a_followed_log_exits_130_quietly(url):
    with Client(url) as zr:
        job = zr.submit("busybox:latest", ["sh", "-c", "echo started; sleep 60"], resources=SMALL)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "runner.cli.main", "--url", url, "logs", "-f", job.id],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            deadline = time.monotonic() + 90
            while not select.select([proc.stdout], [], [], 1.0)[0]:
                assert time.monotonic() < deadline and proc.poll() is None, (
                    proc.stderr.read() if proc.poll() is not None else "no output"
                )
            assert proc.stdout.readline() == b"started\n"
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 130
            assert proc.stderr.read() == b""  # no traceback, nothing at all
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            zr.cancel(job.id)
