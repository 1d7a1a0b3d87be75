"""Functions: warm invocation latency, throughput, cold start and memory.

    .venv/bin/python benchmarks/functions.py [--calls 500] [--seconds 5]

Starts its own Zunray stack (own data dir, instance and ports) and stops it.
Prints, all from one run:
- warm latency over loopback HTTP (p50, p99; targets 5 ms and 25 ms) and
  through the Python SDK over Ray (``runner.RayClient``);
- invocations per second with 1, 4 and 16 concurrent HTTP clients;
- cold start (first call of a new function version, HTTP to answer) against a
  plain ``docker run`` of the same image answering the same way, medians
  (target: at most 50 ms more);
- memory of one warm instance (its container's cgroup) and of one idle
  function (its store row; an idle function has no process).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import threading
import time

import docker
import httpx
from bench_stack import bench_settings

from runner.local import stack
from runner.settings import Settings

IMAGE = "zunray/python:3.11"
CODE = "def handle(event):\n    return event\n"


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def warm_latency(http: httpx.Client, name: str, calls: int) -> list[float]:
    out = []
    for i in range(calls):
        t0 = time.perf_counter()
        r = http.post(f"/v1/functions/{name}/invoke", json=i)
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
    return out


def throughput(url: str, name: str, clients: int, seconds: float) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def worker(k: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while time.monotonic() < stop:
                r = http.post(f"/v1/functions/{name}/invoke", json=k)
                assert r.status_code == 200, r.text
                counts[k] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0)


def docker_run_answer(api: docker.APIClient) -> float:
    """A plain `docker run` of the image that answers like a handler would."""
    t0 = time.perf_counter()
    host_config = api.create_host_config(
        nano_cpus=500_000_000, mem_limit="128m", pids_limit=256, network_mode="none", init=True
    )
    c = api.create_container(
        IMAGE,
        command=["python3", "-c", "import json; print(json.dumps(1))"],
        host_config=host_config,
        network_disabled=True,
    )
    api.start(c["Id"])
    api.wait(c["Id"])
    elapsed = time.perf_counter() - t0
    assert api.logs(c["Id"]).strip() == b"1"
    api.remove_container(c["Id"], force=True)
    return elapsed


def cold_start(http: httpx.Client, name: str, n: int) -> float:
    """A new version each time, so the call finds no warm instance."""
    http.patch(f"/v1/functions/{name}", json={"env": {"V": str(n)}}).raise_for_status()
    t0 = time.perf_counter()
    r = http.post(f"/v1/functions/{name}/invoke", json=1)
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    return elapsed


def instance_memory_mb(client: docker.DockerClient, instance: str) -> list[float]:
    out = []
    for c in client.containers.list(filters={"label": f"zunray.instance={instance}"}):
        stats = c.stats(stream=False)
        out.append(stats["memory_stats"].get("usage", 0) / 2**20)
    return out


def ray_latency(settings: Settings, name: str, calls: int) -> list[float]:
    from runner.client.ray_client import RayClient

    client = RayClient(settings=settings)
    try:
        client.functions.invoke(name, 0)
        out = []
        for i in range(calls):
            t0 = time.perf_counter()
            client.functions.invoke(name, i)
            out.append(time.perf_counter() - t0)
        return out
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--cold", type=int, default=5)
    args = parser.parse_args()
    settings = bench_settings(gateway_port=9618, ray_port=28380)
    api = docker.APIClient(version="auto")
    client = docker.from_env(version="auto")
    try:
        stack.up(settings)  # inside the try: a failed start still stops what it started
        with httpx.Client(base_url=settings.gateway_url, timeout=120) as http:
            fn = {
                "image": IMAGE,
                "handler": "app:handle",
                "code": CODE,
                "resources": {"cpu": 0.5, "memory_mb": 128},
            }
            http.post(
                "/v1/functions", json={"name": "bench", **fn, "concurrency": 4, "max_instances": 4}
            ).raise_for_status()
            http.post("/v1/functions", json={"name": "cold", **fn}).raise_for_status()
            warm_latency(http, "bench", 20)  # the cold start and warm-up
            lat = warm_latency(http, "bench", args.calls)
            print(
                f"warm invoke over HTTP ({args.calls} calls): p50 {percentile(lat, 0.5) * 1e3:.2f} ms, p99 {percentile(lat, 0.99) * 1e3:.2f} ms (targets 5 / 25)"
            )
            rl = ray_latency(settings, "bench", args.calls)
            print(
                f"warm invoke through the Ray SDK:      p50 {percentile(rl, 0.5) * 1e3:.2f} ms, p99 {percentile(rl, 0.99) * 1e3:.2f} ms"
            )
            for clients in (1, 4, 16):
                rate = throughput(settings.gateway_url, "bench", clients, args.seconds)
                print(f"throughput with {clients:2d} clients: {rate:8.0f} invocations/s")
            mem = instance_memory_mb(client, settings.instance)
            print(
                f"memory per warm instance: {statistics.mean(mem):.1f} MiB (over {len(mem)} instances)"
            )
            docker_run_answer(api)
            plain, ours = [], []
            for n in range(args.cold):
                plain.append(docker_run_answer(api))
                ours.append(cold_start(http, "cold", n))
            mp, mo = statistics.median(plain), statistics.median(ours)
            print(
                f"cold start: docker run {mp * 1e3:.1f} ms, zunray {mo * 1e3:.1f} ms, difference {(mo - mp) * 1e3:+.1f} ms (target <= +50)"
            )
            db = settings.data_dir / "zunray.db"
            before = (
                os.path.getsize(db) + os.path.getsize(f"{db}-wal")
                if os.path.exists(f"{db}-wal")
                else os.path.getsize(db)
            )
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                list(
                    pool.map(
                        lambda i: http.post(
                            "/v1/functions", json={"name": f"idle{i}", **fn}
                        ).raise_for_status(),
                        range(200),
                    )
                )
            http.get("/v1/functions")
            after = (
                os.path.getsize(db) + os.path.getsize(f"{db}-wal")
                if os.path.exists(f"{db}-wal")
                else os.path.getsize(db)
            )
            print(
                f"memory per idle function: no process; about {(after - before) / 200 / 1024:.1f} KiB of store (200 functions)"
            )
    finally:
        stack.down(settings)
        for c in client.containers.list(
            all=True, filters={"label": f"zunray.instance={settings.instance}"}
        ):
            c.remove(force=True)


if __name__ == "__main__":
    main()
