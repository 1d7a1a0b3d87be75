"""Job overhead: a job through POST /v1/jobs until terminal, against the same
container run straight through the Docker SDK (create, start, wait, remove),
measured in the same run. Prints both medians and their ratio (target <= 1.25).

    .venv/bin/python benchmarks/job_overhead.py [--runs 20]

Starts its own Zunray stack (own data dir, instance and ports) and stops it.
"""

from __future__ import annotations

import argparse
import statistics
import time

import docker
import httpx
from bench_stack import bench_settings

from runner.local import stack
from runner.models import JobStatus

IMAGE = "busybox:latest"


def direct(client: docker.APIClient) -> float:
    t0 = time.perf_counter()
    host_config = client.create_host_config(
        nano_cpus=250_000_000, mem_limit="64m", pids_limit=64, network_mode="none", init=True
    )
    c = client.create_container(
        IMAGE, command=["true"], host_config=host_config, network_disabled=True
    )
    client.start(c["Id"])
    client.wait(c["Id"])
    client.remove_container(c["Id"], force=True)
    return time.perf_counter() - t0


def through_zunray(http: httpx.Client) -> float:
    t0 = time.perf_counter()
    job = http.post(
        "/v1/jobs",
        json={
            "image": IMAGE,
            "command": ["true"],
            "resources": {"cpu": 0.25, "memory_mb": 64, "pids": 64},
        },
    ).json()
    while True:
        shown = http.get(f"/v1/jobs/{job['id']}", params={"wait_s": 30}).json()
        if JobStatus(shown["status"]).is_terminal():
            break
    elapsed = time.perf_counter() - t0
    assert shown["status"] == "Succeeded", shown
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    settings = bench_settings(gateway_port=9617, ray_port=28379)
    api = docker.APIClient(version="auto")
    try:
        stack.up(settings)  # inside the try: a failed start still stops what it started
        with httpx.Client(base_url=settings.gateway_url, timeout=60) as http:
            direct(api), through_zunray(http)  # warm both paths once
            d, z = [], []
            for _ in range(args.runs):  # interleaved, so drift hits both alike
                d.append(direct(api))
                z.append(through_zunray(http))
    finally:
        stack.down(settings)
    md, mz = statistics.median(d), statistics.median(z)
    print(f"runs: {args.runs}")
    print(f"docker SDK direct  median: {md * 1000:7.1f} ms")
    print(f"zunray HTTP job    median: {mz * 1000:7.1f} ms")
    print(f"ratio (zunray / direct):   {mz / md:.3f}   (target <= 1.25, goal 1.10)")


if __name__ == "__main__":
    main()
