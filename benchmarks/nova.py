"""Jobs on Nova servers: a server per job against a project's shared, warm server, in one run.

    .venv/bin/python benchmarks/nova.py [--runs 5]

Time from POST /v1/jobs to the terminal status for ``true`` with runtime nova,
medians, under ``nova_server_scope=capsule`` (each job waits for a new server
and loads its image into it) and ``project`` (the project's idle server takes
the job, image already there). Nova is the tests' HTTP-level stand-in
(``tests/nova_standin.py``), whose "servers" are dockerd processes on this
machine: a real cloud's server boot takes far longer, so the real gain is larger.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' Nova stand-in

from bench_stack import bench_settings  # noqa: E402
from runner import stack  # noqa: E402
from tests.nova_standin import NovaStandIn  # noqa: E402
from vm import run_job  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    nova = NovaStandIn(24890, Path(tempfile.mkdtemp(prefix="zunray-bench-nova-"))).start()
    results = {}
    try:
        for scope in ("capsule", "project"):
            settings = bench_settings(
                gateway_port=9621, ray_port=28383, nova_url=nova.url, nova_image="bench", nova_flavor="bench", nova_server_scope=scope, nova_idle_s=600,
                nova_insecure_engines=True,  # the stand-in's engines are plain TCP on loopback
            )
            try:
                stack.up(settings)
                with httpx.Client(base_url=settings.gateway_url, timeout=180) as http:
                    run_job(http, "nova", ["true"], {"cpu": 0.5, "memory_mb": 64})  # warm: the host's image, the project's server
                    before = nova.created
                    times = []
                    for _ in range(args.runs):
                        elapsed, shown = run_job(http, "nova", ["true"], {"cpu": 0.5, "memory_mb": 64})
                        assert shown["status"] == "Succeeded", shown
                        times.append(elapsed)
                    results[scope] = statistics.median(times)
                    print(f"scope {scope:<8} submit to exit of `true`: median {results[scope] * 1e3:8.1f} ms ({args.runs} runs, {nova.created - before} servers made)")
            finally:
                stack.down(settings)
                for server_id in list(nova.servers):  # idle shared servers outlive a stack's down (the next up takes them back)
                    nova.delete(server_id)
        print(f"per-capsule server / shared warm server: {results['capsule'] / results['project']:.1f}x")
    finally:
        nova.stop()


if __name__ == "__main__":
    main()
