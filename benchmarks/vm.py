"""The VM runtime against runc and runsc, in one run.

    .venv/bin/python benchmarks/vm.py [--runs 3]

Time from POST /v1/jobs to the terminal status for ``true`` under runc, runsc
and vm (TCG here), medians; a Zun capsule (an init container and two app
containers that exit) from POST /v1/capsules until every member stopped, under
runc and in one VM; the memory (RSS) of an idle VM's QEMU process; and how
many such VMs the placement filters let one host run at once.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx
from bench_stack import bench_settings

from runner.local import stack
from runner.models import JobStatus


def run_job(
    http: httpx.Client, runtime: str, command: list[str], resources: dict
) -> tuple[float, dict]:
    t0 = time.perf_counter()
    job = http.post(
        "/v1/jobs",
        json={
            "image": "busybox:latest",
            "command": command,
            "runtime": runtime,
            "resources": resources,
        },
    ).json()
    while not JobStatus(
        (shown := http.get(f"/v1/jobs/{job['id']}", params={"wait_s": 30}).json())["status"]
    ).is_terminal():
        pass
    return time.perf_counter() - t0, shown


ZUN = {"OpenStack-API-Version": "container 1.40"}


def run_capsule(http: httpx.Client, runtime: str) -> float:
    """POST /v1/capsules until both app containers stopped (they exit at once), then delete it; seconds."""
    sh = [
        {
            "name": n,
            "image": "busybox:latest",
            "command": ["true"],
            "resources": {"requests": {"cpu": 0.5, "memory": 64}},
        }
        for n in ("a", "b")
    ]
    template = {
        "kind": "capsule",
        "metadata": {},
        "spec": {
            "runtime": runtime,
            "restartPolicy": "Never",
            "containers": sh,
            "initContainers": [{**sh[0], "name": "init"}],
        },
    }
    t0 = time.perf_counter()
    uuid = http.post("/v1/capsules", json={"template": template}, headers=ZUN).json()["uuid"]
    while True:
        cap = http.get(f"/v1/capsules/{uuid}", headers=ZUN).json()
        if [m["status"] for m in cap["containers"]] == ["Stopped", "Stopped"]:
            break
        assert cap["status"] != "Error", cap["status_reason"]
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    http.delete(f"/v1/capsules/{uuid}", headers=ZUN)
    return elapsed


def qemu_rss_mb() -> list[float]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"qemu-system" not in (entry / "cmdline").read_bytes():
                    continue
                status = (entry / "status").read_text()
            except OSError:
                continue
            out += [
                int(line.split()[1]) / 1024
                for line in status.splitlines()
                if line.startswith("VmRSS:")
            ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = bench_settings(gateway_port=9620, ray_port=28382)
    resources = {"cpu": 1, "memory_mb": 256}
    try:
        stack.up(settings)
        with httpx.Client(base_url=settings.gateway_url, timeout=180) as http:
            results = {}
            for runtime in ("runc", "runsc", "vm"):
                run_job(http, runtime, ["true"], resources)  # warm: images, the VM rootfs cache
                times = []
                for _ in range(args.runs):
                    elapsed, shown = run_job(http, runtime, ["true"], resources)
                    assert shown["status"] == "Succeeded", shown
                    times.append(elapsed)
                results[runtime] = statistics.median(times)
                print(
                    f"{runtime:<6} submit to exit of `true`: median {results[runtime] * 1e3:8.1f} ms ({args.runs} runs)"
                )
            print(
                f"vm / runc: {results['vm'] / results['runc']:.1f}x   vm / runsc: {results['vm'] / results['runsc']:.1f}x"
            )
            capsules = {}
            for runtime in ("runc", "vm"):
                run_capsule(http, runtime)  # warm
                capsules[runtime] = statistics.median(
                    run_capsule(http, runtime) for _ in range(args.runs)
                )
                print(
                    f"{runtime:<6} capsule (init + 2 apps) create to all stopped: median {capsules[runtime] * 1e3:8.1f} ms ({args.runs} runs)"
                )
            print(f"capsule vm / runc: {capsules['vm'] / capsules['runc']:.1f}x")
            idle = http.post(
                "/v1/jobs",
                json={
                    "image": "busybox:latest",
                    "command": ["sleep", "30"],
                    "runtime": "vm",
                    "resources": {"cpu": 0.25, "memory_mb": 128},
                },
            ).json()
            while http.get(f"/v1/jobs/{idle['id']}").json()["status"] != "Running":
                time.sleep(0.2)
            time.sleep(2)
            rss = qemu_rss_mb()
            print(f"idle VM (128 MB guest, busybox): QEMU RSS {statistics.mean(rss):.0f} MiB")
            http.post(f"/v1/jobs/{idle['id']}/cancel")
            [host] = http.get("/v1/cluster/hosts").json()["hosts"]
            by_cpu = host["cpus"] * settings.cpu_allocation_ratio / 0.25
            by_mem = host["memory_mb"] * settings.memory_allocation_ratio / 128
            print(
                f"VMs of 0.25 cpu / 128 MB one host ({host['cpus']} cpus, {host['memory_mb'] / 1024:.1f} GiB) takes at once: {int(min(by_cpu, by_mem))}"
                f" (cpu allows {int(by_cpu)} at allocation ratio {settings.cpu_allocation_ratio:g}, memory {int(by_mem)})"
            )
    finally:
        stack.down(settings)


if __name__ == "__main__":
    main()
