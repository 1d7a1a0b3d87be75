"""Issue 14, item 4: bounded waits and sizes on a host.

Each test plays a tenant that makes its container print, archive or hang far
more than it should, and asserts what the others (and the service) observe:
answers cut at the settings' bounds, the node actor's memory not grown by the
flood, another project's call answered at once while one container is stuck,
and a second action on the stuck container refused as busy.
"""

from __future__ import annotations

import base64
import io
import tarfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import ZUN_HEADERS

pytestmark = [pytest.mark.docker, pytest.mark.ray]

MB = 1_000_000
#: a container that outlives a polite stop: its shell and everything it starts ignore SIGTERM
STUBBORN = ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]


def project(name: str) -> dict[str, str]:
    return {**ZUN_HEADERS, "X-Project-Id": f"{name}-{uuid.uuid4().hex[:6]}"}


def run_container(zunray, headers: dict, command: list[str]) -> str:  # noqa: ANN001
    resp = zunray.http.post(
        "/v1/containers?run=true",
        json={"image": "busybox:latest", "command": command, "memory": 64},
        headers=headers,
    )
    assert resp.status_code == 202, resp.text
    ident = resp.json()["uuid"]
    deadline = time.monotonic() + 60
    while (c := zunray.http.get(f"/v1/containers/{ident}", headers=headers).json())[
        "status"
    ] != "Running":
        assert time.monotonic() < deadline, c
        time.sleep(0.2)
    return ident


def delete(zunray, headers: dict, ident: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 60
    while zunray.http.delete(
        f"/v1/containers/{ident}", params={"force": "True"}, headers=headers, timeout=90
    ).status_code not in (204, 404):
        assert time.monotonic() < deadline, f"container {ident} cannot be deleted"
        time.sleep(0.5)


def exec_(zunray, headers: dict, ident: str, command: str, **kw) -> httpx.Response:  # noqa: ANN001, ANN003
    return zunray.http.post(
        f"/v1/containers/{ident}/execute",
        params={"command": command, "run": "true"},
        headers=headers,
        **kw,
    )


def node_peak_rss_mb(zunray) -> float:  # noqa: ANN001
    """The node actor's peak resident memory so far (VmHWM), in MB."""
    pid = zunray.http.get("/healthz").json()["cluster"]["hosts"][0]["pid"]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1000
    raise AssertionError(f"no VmHWM for the node actor {pid}")


@pytest.fixture
def tenant_a(zunray):  # noqa: ANN001, ANN201
    headers = project("bounds-a")
    ident = run_container(zunray, headers, STUBBORN)
    yield headers, ident
    delete(zunray, headers, ident)


def test_exec_output_is_cut_at_the_bound_and_never_held_whole(zunray, tenant_a) -> None:  # noqa: ANN001
    headers, ident = tenant_a
    limit = zunray.settings.exec_output_max_bytes
    peak_before = node_peak_rss_mb(zunray)
    resp = exec_(zunray, headers, ident, "sh -c 'yes | head -c 50000000'")
    assert resp.status_code == 200, resp.text
    out = resp.json()["output"]
    assert out.endswith(
        f"[zunray: output truncated at {limit} bytes, {50 * MB - limit} more not shown]\n"
    )
    assert out.startswith("y\ny\n")  # the beginning, as it was printed
    assert len(out.encode()) <= limit + 100
    assert len(resp.content) <= 2 * limit + 4096  # JSON doubles each newline
    assert node_peak_rss_mb(zunray) - peak_before < 25, "the node actor held the 50 MB output"
    assert (
        resp.json()["exit_code"] == 0
    )  # the rest was drained: the command ended, not left blocked on a full pipe


def test_exec_that_runs_too_long_answers_with_what_it_printed(zunray, tenant_a) -> None:  # noqa: ANN001
    headers, ident = tenant_a
    began = time.monotonic()
    resp = exec_(zunray, headers, ident, "sh -c 'echo started; sleep 600'")
    took = time.monotonic() - began
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["output"].startswith("started\n") and body["output"].endswith(
        f"[zunray: still running after {zunray.settings.exec_timeout_s:g} s]\n"
    )
    assert body["exit_code"] is None
    assert took < zunray.settings.exec_timeout_s + 10


def test_logs_of_a_container_that_printed_megabytes_are_bounded(zunray) -> None:  # noqa: ANN001
    headers = project("bounds-logs")
    limit = zunray.settings.log_max_bytes
    # 20 MB in 16 KB log entries: Docker keeps two files of log_max_bytes, more than the bound
    ident = run_container(
        zunray, headers, ["sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' x; " + STUBBORN[2]]
    )
    try:
        deadline = time.monotonic() + 60
        while (
            len((resp := zunray.http.get(f"/v1/containers/{ident}/logs", headers=headers)).content)
            < limit
        ):
            assert time.monotonic() < deadline, len(resp.content)
            time.sleep(0.5)
        assert resp.status_code == 200
        text = resp.json()
        assert "earlier bytes not shown (log_max_bytes)" in text.splitlines()[0]
        assert len(resp.content) <= limit + 4096
    finally:
        delete(zunray, headers, ident)


@pytest.mark.parametrize("path", ["/tmp/big", "/tmp"], ids=["file", "directory"])
def test_get_archive_of_a_path_over_the_bound_is_refused(zunray, tenant_a, path: str) -> None:  # noqa: ANN001
    headers, ident = tenant_a
    limit = zunray.settings.archive_max_bytes
    made = exec_(zunray, headers, ident, f"sh -c 'head -c {limit + MB} /dev/zero > /tmp/big'")
    assert made.status_code == 200 and made.json()["exit_code"] == 0, made.text
    resp = zunray.http.get(
        f"/v1/containers/{ident}/get_archive", params={"path": path}, headers=headers
    )
    assert resp.status_code == 413, resp.text[:300]
    assert f"limit of {limit} bytes" in resp.json()["errors"][0]["detail"]
    small = zunray.http.get(
        f"/v1/containers/{ident}/get_archive", params={"path": "/etc/hostname"}, headers=headers
    )
    assert small.status_code == 200  # within the bound: as before


def test_put_archive_over_the_bound_is_refused(zunray, tenant_a) -> None:  # noqa: ANN001
    headers, ident = tenant_a
    limit = zunray.settings.archive_max_bytes
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("big")
        info.size = limit + MB
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    body = {"data": base64.b64encode(buf.getvalue()).decode()}
    resp = zunray.http.post(
        f"/v1/containers/{ident}/put_archive", params={"path": "/tmp"}, json=body, headers=headers
    )
    assert resp.status_code == 413, resp.text[:300]
    assert "archive_max_bytes" in resp.json()["errors"][0]["detail"]
    listed = exec_(zunray, headers, ident, "ls /tmp")
    assert "big" not in listed.json()["output"]


def test_a_stuck_container_holds_up_neither_other_projects_nor_its_own_host(
    zunray, tenant_a
) -> None:  # noqa: ANN001
    """Project A stops a container that ignores SIGTERM (the stop takes its whole timeout)
    and floods the host with more actions on it; project B's exec answers at once, and
    A's second action on the busy container is refused as busy within the wait."""
    headers_a, stuck = tenant_a
    headers_b = project("bounds-b")
    other = run_container(zunray, headers_b, ["sleep", "3600"])
    stop_s = 25
    slow = threading.Thread(
        target=lambda: zunray.http.post(
            f"/v1/containers/{stuck}/stop",
            params={"timeout": stop_s},
            headers=headers_a,
            timeout=stop_s + 90,
        ),
        daemon=True,
    )
    try:
        slow.start()
        time.sleep(1.5)  # the stop holds the container now
        began = time.monotonic()
        busy = exec_(zunray, headers_a, stuck, "true", timeout=stop_s + 90)
        took = time.monotonic() - began
        assert busy.status_code == 409, busy.text
        assert "busy" in busy.json()["errors"][0]["detail"]
        assert took < zunray.settings.node_busy_wait_s + 5

        # A floods the host with more than the node actor has threads, all on the stuck container
        with httpx.Client(
            base_url=zunray.settings.gateway_url,
            timeout=stop_s + 90,
            limits=httpx.Limits(max_connections=100),
        ) as flood:
            with ThreadPoolExecutor(80) as pool:
                futures = [
                    pool.submit(
                        flood.post,
                        f"/v1/containers/{stuck}/stop",
                        params={"timeout": stop_s},
                        headers=headers_a,
                    )
                    for _ in range(80)
                ]
                time.sleep(2)  # the flood reached the node
                began = time.monotonic()
                answer = exec_(zunray, headers_b, other, "echo fine")
                took = time.monotonic() - began
                assert answer.status_code == 200 and answer.json()["output"] == "fine\n", (
                    answer.text
                )
                assert took < 5, f"project B waited {took:.1f} s behind project A's stuck container"
                codes = sorted({f.result().status_code for f in futures})
        assert set(codes) <= {202, 409, 429}, codes  # refused as busy or over A's share, never hung
        assert 429 in codes
    finally:
        slow.join(stop_s + 90)
        delete(zunray, headers_b, other)
