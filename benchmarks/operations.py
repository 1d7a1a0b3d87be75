"""Operations endpoints at 10,000 objects: /metrics and the dashboard's data calls.

    .venv/bin/python benchmarks/operations.py [--objects 10000] [--calls 50]

Starts its own stack, writes the objects straight into its store (10,000 jobs,
a tenth of them queued too big to place, 10,000 usage records), then times
each endpoint's median and p95 against ``/healthz`` (the gateway's floor) in
the same run. Target: each under 50 ms. Also times a month of usage records
for 1,000 projects exported as Parquet.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import httpx
from bench_stack import bench_settings

from runner.local import stack
from runner.models import CapsuleSpec, ContainerSpec, Job, JobStatus, Resources
from runner.store import Store
from runner.usage import usage_row

ENDPOINTS = [
    ("GET", "/healthz", {}),
    ("GET", "/metrics", {}),
    ("GET", "/v1/cluster/hosts", {}),
    ("GET", "/v1/jobs?limit=50", {}),
    ("GET", "/v1/functions", {}),
    ("GET", "/v1/schedules", {}),
    ("GET", "/v1/containers", {"OpenStack-API-Version": "container 1.40"}),
    ("GET", "/v1/capsules", {"OpenStack-API-Version": "container 1.40"}),
]


def fill(store: Store, n: int) -> list[str]:
    """n jobs: most ended (all in the project the calls use), a tenth waiting (too big to place) in a hundred projects."""
    spec = CapsuleSpec(
        containers=(
            ContainerSpec(
                image="busybox:latest",
                command=("true",),
                resources=Resources(cpu=0.25, memory_mb=32),
            ),
        )
    )
    big = CapsuleSpec(
        containers=(
            ContainerSpec(
                image="busybox:latest", command=("true",), resources=Resources(cpu=64, memory_mb=32)
            ),
        )
    )
    queued = []
    for i in range(n):
        waits = i % 10 == 0
        project = (
            f"p{i % 100}" if waits else "default"
        )  # one project's long job list; queues in a hundred
        job = Job(
            id=str(uuid.uuid4()),
            project_id=project,
            user_id="bench",
            capsule=big if waits else spec,
            name=f"job-{i}",
        )
        store.jobs.create_job(job)
        if waits:
            queued.append(job.id)
        else:
            store.jobs.transition_job(
                job.id, JobStatus.CANCELLED, reason="benchmark filler", finished_at=time.time()
            )
    return queued


def month_of_usage(store: Store, projects: int, per_project: int) -> int:
    now = time.time()
    rows = [
        usage_row(
            project_id=f"p{p}",
            kind="job",
            object_id=str(uuid.uuid4()),
            name="x",
            host="h",
            runtime="runc",
            resources=Resources(cpu=0.5, memory_mb=256),
            start=now - 30 * 86400 + i * 60,
            end=now - 30 * 86400 + i * 60 + 30,
            status="Succeeded",
            exit_code=0,
        )
        for p in range(projects)
        for i in range(per_project)
    ]
    for k in range(0, len(rows), 5000):
        store.usage_records.record_usage(rows[k : k + 5000])
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--usage-per-project", type=int, default=300)
    args = parser.parse_args()
    settings = bench_settings(gateway_port=9619, ray_port=28381)
    try:
        stack.up(settings)
        store = Store(settings.store_url_resolved)
        t0 = time.perf_counter()
        queued = fill(store, args.objects)
        print(
            f"wrote {args.objects} jobs ({len(queued)} queued) in {time.perf_counter() - t0:.1f} s"
        )
        with httpx.Client(base_url=settings.gateway_url, timeout=120) as http:
            http.get(
                "/v1/jobs"
            )  # nothing waits to be announced: placement finds the queued ones in the store
            deadline = time.monotonic() + 60
            while (
                time.monotonic() < deadline
                and 'zunray_queue_depth{project="p0"}' not in http.get("/metrics").text
            ):
                time.sleep(1)
            print(f"{'endpoint':<28} {'median':>9} {'p95':>9}")
            for method, path, headers in ENDPOINTS:
                times = []
                for _ in range(args.calls):
                    t = time.perf_counter()
                    resp = http.request(method, path, headers=headers)
                    times.append(time.perf_counter() - t)
                    assert resp.status_code == 200, (path, resp.status_code, resp.text[:200])
                times.sort()
                print(
                    f"{path:<28} {statistics.median(times) * 1e3:7.1f} ms {times[int(len(times) * 0.95)] * 1e3:7.1f} ms"
                )
            n = month_of_usage(store, 1000, args.usage_per_project)
            t = time.perf_counter()
            resp = http.get(
                "/v1/usage",
                params={
                    "all_projects": "true",
                    "format": "parquet",
                    "start": time.time() - 31 * 86400,
                },
            )
            elapsed = time.perf_counter() - t
            assert resp.status_code == 200, resp.text[:200]
            print(
                f"usage export: {n} records of 1,000 projects over a month as Parquet in {elapsed:.2f} s ({len(resp.content) / 2**20:.1f} MiB)"
            )
    finally:
        stack.down(settings)


if __name__ == "__main__":
    main()
