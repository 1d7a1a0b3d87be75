"""Durable submissions: ``POST /v1/jobs`` accepted per second and its latency, for 1, 8 and 32
concurrent clients, against the same machine's raw store insert rate (``store.jobs.create_job``
in a loop, one transaction each: the ceiling a gateway could reach), measured in the same run.

    .venv/bin/python benchmarks/submit.py [--seconds 8] [--postgres]

Starts its own Zunray stack (own data dir, instance and ports) with its host disabled for new
placements, so the jobs stay Queued (nothing runs: what is measured is acceptance, which commits
each job before its 202), and stops it. ``--postgres`` runs the same against a private PostgreSQL
server (Debian's postgresql, as the store tests start it) besides SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack

import httpx
from bench_stack import bench_settings


from runner.local import stack
from runner.local.postgres import postgres_server
from runner.models import CapsuleSpec, ContainerSpec, Job, Resources
from runner.store import Store

JOB = {"image": "busybox:latest", "command": ["true"], "resources": {"cpu": 0.25, "memory_mb": 64}}
CLIENTS = (1, 8, 32)


def raw_inserts_per_s(url: str, seconds: float) -> float:
    """One committed job per transaction, straight into the store: the ceiling."""
    store = Store(url)
    store.migrate()
    spec = CapsuleSpec(containers=(ContainerSpec("busybox", resources=Resources(0.25, 64)),))
    done, until = 0, time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < until:
        store.jobs.create_job(
            Job(id=str(uuid.uuid4()), project_id="bench", user_id="u", capsule=spec)
        )
        done += 1
    rate = done / (time.perf_counter() - t0)
    store.close()
    return rate


async def _client(http: httpx.AsyncClient, until: float, latencies: list[float]) -> None:
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        resp = await http.post("/v1/jobs", json=JOB)
        if resp.status_code != 202:
            raise SystemExit(f"submission refused: {resp.status_code} {resp.text}")
        latencies.append(time.perf_counter() - t0)


async def submissions(base_url: str, clients: int, seconds: float) -> tuple[float, float, float]:
    """(accepted per second, p50 ms, p99 ms) for ``clients`` submitting at once for ``seconds``."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        await _client(http, time.perf_counter() + 0.5, [])  # warm the connection and the path
        t0 = time.perf_counter()
        until = t0 + seconds
        await asyncio.gather(*(_client(http, until, latencies) for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000


def bench(name: str, store_url: str | None, ports: tuple[int, int], seconds: float) -> None:
    settings = bench_settings(
        gateway_port=ports[0],
        ray_port=ports[1],
        max_queued_jobs_per_project=-1,
        **({"store_url": store_url} if store_url else {}),
    )
    raw_url = store_url or f"sqlite:///{tempfile.mkdtemp(prefix='zunray-bench-raw-')}/raw.db"
    ceiling = raw_inserts_per_s(raw_url, seconds)
    print(f"{name}: raw store inserts (one transaction each): {ceiling:8.0f}/s")
    try:
        stack.up(settings)
        with httpx.Client(base_url=settings.gateway_url, timeout=30) as http:
            for host in http.get("/healthz").json()["cluster"]["hosts"]:
                http.put(
                    f"/v1/cluster/hosts/{host['name']}",
                    json={"enabled": False, "reason": "benchmark"},
                ).raise_for_status()
        for clients in CLIENTS:
            rate, p50, p99 = asyncio.run(submissions(settings.gateway_url, clients, seconds))
            print(
                f"{name}: {clients:2d} clients: {rate:7.0f} accepted/s "
                f"({rate / ceiling:5.1%} of raw)  p50 {p50:6.1f} ms  p99 {p99:7.1f} ms"
            )
    finally:
        stack.down(settings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    bench("sqlite", None, (9627, 28389), args.seconds)
    if args.postgres:
        with ExitStack() as stack_:
            url = stack_.enter_context(postgres_server(26399))
            bench("postgresql", url, (9637, 28399), args.seconds)


if __name__ == "__main__":
    main()
