"""Jobs on Nova servers: a server per job against a project's shared, warm server, in one run.

    .venv/bin/python benchmarks/nova.py [--runs 5]

Time from POST /v1/jobs to the terminal status for ``true`` with runtime nova,
medians, under ``nova_server_scope=capsule`` (each job waits for a new server
and loads its image into it) and ``project`` (the project's idle server takes
the job, image already there). Nova is the tests' HTTP-level stand-in
(``tests/nova_standin.py``), whose "servers" are dockerd processes on this
machine: a real cloud's server boot takes far longer, so the real gain is larger.
The stand-in runs as a process of its own (``python -m tests.nova_standin``), one
per scope: benchmarks never import ``tests`` (tests/test_layers.py), and the
stand-in stays test-only code rather than a second copy here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
from bench_stack import bench_settings
from vm import run_job

from runner.local import stack

ROOT = Path(__file__).resolve().parents[1]
STANDIN_PORT = 24890


@contextlib.contextmanager
def nova_standin(port: int) -> Iterator[str]:
    """The tests' Nova stand-in as a process of its own; its URL. Its servers are deleted when it ends."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    root = tempfile.mkdtemp(prefix="zunray-bench-nova-")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.nova_standin", str(port), root],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        if not url:
            raise RuntimeError(f"the Nova stand-in did not start (exit status {proc.wait()})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=120)


def servers_made(port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/_standin").json()["created"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = {}
    for scope in ("capsule", "project"):
        # a stand-in per scope: idle shared servers outlive a stack's down, and go with their stand-in
        with nova_standin(STANDIN_PORT) as nova_url:
            settings = bench_settings(
                gateway_port=9621,
                ray_port=28383,
                nova_url=nova_url,
                nova_image="bench",
                nova_flavor="bench",
                nova_server_scope=scope,
                nova_idle_s=600,
                nova_insecure_engines=True,  # the stand-in's engines are plain TCP on loopback
            )
            try:
                stack.up(settings)
                with httpx.Client(base_url=settings.gateway_url, timeout=180) as http:
                    run_job(
                        http, "nova", ["true"], {"cpu": 0.5, "memory_mb": 64}
                    )  # warm: the host's image, the project's server
                    before = servers_made(STANDIN_PORT)
                    times = []
                    for _ in range(args.runs):
                        elapsed, shown = run_job(
                            http, "nova", ["true"], {"cpu": 0.5, "memory_mb": 64}
                        )
                        assert shown["status"] == "Succeeded", shown
                        times.append(elapsed)
                    results[scope] = statistics.median(times)
                    made = servers_made(STANDIN_PORT) - before
                    print(
                        f"scope {scope:<8} submit to exit of `true`: median {results[scope] * 1e3:8.1f} ms ({args.runs} runs, {made} servers made)"
                    )
            finally:
                stack.down(settings)
    print(
        f"per-capsule server / shared warm server: {results['capsule'] / results['project']:.1f}x"
    )


if __name__ == "__main__":
    main()
