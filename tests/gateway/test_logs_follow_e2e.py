"""Following a job's logs past what is kept of them (ZUNRAY_LOG_MAX_BYTES, 1 MiB), by byte offset."""

from __future__ import annotations

import sys
import time
from datetime import datetime

import pytest

from runner.client.http import Client

pytestmark = [pytest.mark.docker, pytest.mark.ray]

LINE = 80000  # bytes of "a" a line, then a newline
LINES = 40  # ~3.2 MB in all: three times what is kept
# a line every 0.2 s: a follower (the gateway polls every 0.25 s) stays well within what is kept, even on a busy machine
SCRIPT = f'i=0; while [ $i -lt {LINES} ]; do head -c {LINE} /dev/zero | tr "\\0" a; echo; i=$((i+1)); sleep 0.2; done; echo END'
EXPECTED = ("a" * LINE + "\n") * LINES + "END\n"


def _shape(text: str) -> list:
    """Runs of equal lines as (line length or text, count): a readable difference."""
    runs: list = []
    for line in text.split("\n"):
        key = line if len(line) < 80 else len(line)
        if runs and runs[-1][0] == key:
            runs[-1][1] += 1
        else:
            runs.append([key, 1])
    return runs


def _follow(zunray, job_id: str, **params) -> tuple[str, int | None]:  # noqa: ANN003
    """The whole followed stream, and the offset its response says it starts at."""
    with zunray.http.stream(
        "GET", f"/v1/jobs/{job_id}/logs", params={"follow": "true", **params}, timeout=120
    ) as resp:
        assert resp.status_code == 200
        start = resp.headers.get("Zunray-Log-Offset")
        return b"".join(resp.iter_bytes()).decode(), None if start is None else int(start)


def test_follow_streams_past_what_is_kept_in_order_without_fragments(zunray):
    job = zunray.submit(command=["sh", "-c", SCRIPT], timeout_s=120)
    body, start = _follow(zunray, job["id"])
    assert len(body) > 2 << 20, f"the stream went silent after {len(body)} bytes"
    assert body == EXPECTED, _shape(
        body
    )  # every line whole and in order, END last, no "[... earlier bytes]" fragment
    assert start == 0
    assert zunray.wait(job["id"])["status"] == "Succeeded"

    # resuming: a follower that saw the first 1.5 MB of the ended job gets one notice for what is gone,
    # then what is kept; one that saw all but the last lines gets exactly those
    near_end = len(EXPECTED) - 2 * (LINE + 1) - len("END\n")
    rest, start = _follow(zunray, job["id"], offset=near_end)
    assert (rest, start) == (EXPECTED[near_end:], near_end)
    plain = zunray.http.get(f"/v1/jobs/{job['id']}/logs", params={"offset": near_end})
    assert plain.text == EXPECTED[near_end:]
    assert int(plain.headers["Zunray-Log-Offset"]) == len(EXPECTED)
    behind, _ = _follow(zunray, job["id"], offset=1_500_000)
    kept = 1 << 20
    assert (
        behind == f"[zunray: {len(EXPECTED) - kept - 1_500_000} bytes skipped]\n" + EXPECTED[-kept:]
    )


def test_resume_while_it_runs_continues_where_it_left_off(zunray):
    job = zunray.submit(command=["sh", "-c", SCRIPT], timeout_s=120)
    seen = b""
    with zunray.http.stream(
        "GET", f"/v1/jobs/{job['id']}/logs", params={"follow": "true"}, timeout=120
    ) as resp:
        offset = int(resp.headers.get("Zunray-Log-Offset", 0))
        for chunk in resp.iter_bytes():
            seen += chunk
            if len(seen) > 1_200_000:
                break  # the connection drops past what is kept
    offset += len(seen)
    rest, start = _follow(zunray, job["id"], offset=offset)
    assert (seen.decode() + rest) == EXPECTED, (_shape(seen.decode()), _shape(rest))
    assert start == offset


def test_sdk_follow_logs_sees_the_end(zunray):
    job = zunray.submit(command=["sh", "-c", SCRIPT], timeout_s=120)
    with Client(zunray.settings.gateway_url) as client:
        out = b"".join(client.follow_logs(job["id"])).decode()
    assert out.endswith("a\nEND\n")
    assert out == EXPECTED, _shape(out)


class _Timed:
    """A stdout that notes when each piece was written."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((time.time(), text))
        return len(text)

    def flush(self) -> None:
        pass

    def when(self, text: str) -> float:
        return next(at for at, piece in self.writes if text in piece)


def test_cli_submit_streams_the_output_as_the_job_runs_and_exits_with_its_code(zunray, monkeypatch):
    from runner.cli.main import main as cli_main

    for key, value in zunray.settings.to_env().items():
        monkeypatch.setenv(key, value)
    out = _Timed()
    monkeypatch.setattr(sys, "stdout", out)
    assert (
        cli_main(
            [
                "submit",
                "--memory-mb",
                "64",
                "busybox:latest",
                "--",
                "sh",
                "-c",
                "echo first; sleep 3; echo second; exit 3",
            ]
        )
        == 3
    )
    text = "".join(piece for _, piece in out.writes)
    job = zunray.http.get(f"/v1/jobs/{text.split()[1]}").json()
    assert job["status"] == "Failed" and job["exit_code"] == 3
    assert text.index("first\n") < text.index("second\n") < text.index("exit code: 3")
    finished_at = datetime.fromisoformat(job["finished_at"]).timestamp()
    assert out.when("first\n") < finished_at - 1.5  # shown while the job ran, not after it ended
