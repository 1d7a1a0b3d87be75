"""Issue 14, items 5 and 14: a job's huge pages and its dedicated cpus are its own.

(5) Huge pages are admin-only by default, and a job that has them sees a hugetlbfs of
its own, limited to its ask, never the host's /dev/hugepages. (14) A shared container
created before a dedicated job is moved off the pinned cpu while the job runs, and
back once it ended.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import ZUN_HEADERS

pytestmark = [pytest.mark.docker, pytest.mark.ray]

HUGEPAGE_JOB = {
    "image": "busybox:latest",
    "command": ["true"],
    "resources": {"cpu": 0.25, "memory_mb": 64, "hugepages_2m_pages": 2},
}


def test_members_cannot_ask_for_huge_pages(as_user):
    alice = as_user("alice")
    job = alice.post("/v1/jobs", json=HUGEPAGE_JOB)
    assert job.status_code == 403 and "job:create:hugepages" in job.json()["errors"][0]["detail"], (
        job.text
    )
    schedule = alice.post(
        "/v1/schedules", json={"name": "hp", "cron": "0 0 * * *", "job": HUGEPAGE_JOB}
    )
    assert (
        schedule.status_code == 403
        and "job:create:hugepages" in schedule.json()["errors"][0]["detail"]
    ), schedule.text
    without = alice.post(
        "/v1/jobs", json={**HUGEPAGE_JOB, "resources": {"cpu": 0.25, "memory_mb": 64}}
    )  # the same job without
    assert without.status_code == 202, without.text
    alice.post(f"/v1/jobs/{without.json()['id']}/cancel")


@pytest.fixture
def host_hugepages():
    """At least 8 free 2 MiB huge pages, and a hugetlbfs at the host's /dev/hugepages holding a
    file of the host's (as an operator's DPDK setup has): what a job must never see."""
    nr = Path("/proc/sys/vm/nr_hugepages")
    before = nr.read_text().strip()
    free = int(
        next(
            ln.split()[1]
            for ln in Path("/proc/meminfo").read_text().splitlines()
            if ln.startswith("HugePages_Free:")
        )
    )
    try:
        if free < 8:
            nr.write_text(str(int(before) + 8 - free))
    except OSError as exc:
        pytest.skip(
            f"cannot reserve huge pages here (needs root and a kernel with hugetlbfs): {exc}"
        )
    mounted = subprocess.run(["mountpoint", "-q", "/dev/hugepages"]).returncode == 0
    if not mounted:
        Path("/dev/hugepages").mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages"], check=True)
    marker = Path(f"/dev/hugepages/host-secret-{uuid.uuid4().hex[:8]}")
    marker.touch()
    try:
        yield marker.name
    finally:
        marker.unlink(missing_ok=True)
        if not mounted:
            subprocess.run(["umount", "/dev/hugepages"], check=False)
        nr.write_text(before)


def _mounts_of(job_id: str) -> list[str]:
    return [ln for ln in Path("/proc/mounts").read_text().splitlines() if job_id in ln]


def test_a_job_gets_a_hugetlbfs_of_its_own_sized_to_its_ask(zunray, host_hugepages):
    script = "grep hugetlbfs /proc/mounts; ls -a /dev/hugepages; sleep 4"
    deadline = time.monotonic() + 15
    while True:  # the next heartbeat brings the new inventory
        job = zunray.submit(**{**HUGEPAGE_JOB, "command": ["sh", "-c", script]})
        shown = zunray.wait(
            job["id"],
            timeout_s=30,
            until=("Running", "Succeeded", "Failed", "Queued")
            if time.monotonic() < deadline
            else ("Running", "Succeeded", "Failed"),
        )
        if shown["status"] != "Queued":
            break
        zunray.http.post(f"/v1/jobs/{job['id']}/cancel")
        time.sleep(1)
    assert shown["status"] == "Running", shown["status_reason"]
    [on_host] = _mounts_of(job["id"])  # the job's own mount, on the host, while it runs
    assert (
        on_host.split()[2] == "hugetlbfs"
        and "size=4194304" in on_host
        and on_host.split()[1].startswith(str(zunray.settings.data_dir))
    )
    done = zunray.wait(job["id"], timeout_s=30)
    logs = zunray.http.get(f"/v1/jobs/{job['id']}/logs").text
    assert done["status"] == "Succeeded", (done["status_reason"], logs)
    [mount_line, *listing] = logs.splitlines()
    assert (
        mount_line.split()[1:3] == ["/dev/hugepages", "hugetlbfs"] and "size=4194304" in mount_line
    ), logs  # 2 pages of 2 MiB: its own limit
    assert host_hugepages not in logs and sorted(listing) == [".", ".."], (
        logs
    )  # not the host's /dev/hugepages
    gone_by = time.monotonic() + 10
    while _mounts_of(job["id"]):
        assert time.monotonic() < gone_by, _mounts_of(job["id"])
        time.sleep(0.2)
    assert not list((zunray.settings.data_dir / "hugepages").glob(f"*/{job['id']}-*"))


def _cpus(container) -> set[int]:  # noqa: ANN001
    container.reload()
    text = container.attrs["HostConfig"]["CpusetCpus"]
    out = set()
    for part in filter(None, text.split(",")):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def _until(check, timeout_s: float = 10.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return value


def test_shared_containers_leave_a_dedicated_cpu_and_come_back(zunray):
    every = set(range(os.cpu_count() or 1))
    ctr = zunray.http.post(
        "/v1/containers?run=true",
        json={"image": "busybox:latest", "command": ["sleep", "300"], "cpu": 0.1, "memory": 32},
        headers=ZUN_HEADERS,
    ).json()
    shared_job = zunray.submit(command=["sleep", "120"], resources={"cpu": 0.1, "memory_mb": 16})
    pinned_job = None
    try:
        zunray.container_until(ctr["uuid"], "Running")
        zunray.wait(shared_job["id"], until=("Running",))
        [zc] = zunray.containers(uuid=ctr["uuid"])
        [jc] = zunray.containers(uuid=shared_job["id"])
        assert _cpus(zc) == every and _cpus(jc) == every  # created before the pin: on every cpu
        pinned_job = zunray.submit(
            command=["sleep", "30"], resources={"cpu": 1, "memory_mb": 16}, cpu_policy="dedicated"
        )
        zunray.wait(pinned_job["id"], until=("Running",))
        [pc] = zunray.containers(uuid=pinned_job["id"])
        pinned = _cpus(pc)
        assert len(pinned) == 1
        # moved before the dedicated job started
        assert _cpus(zc) == every - pinned and _cpus(jc) == every - pinned, (
            _cpus(zc),
            _cpus(jc),
            pinned,
        )
        zunray.http.post(f"/v1/jobs/{pinned_job['id']}/cancel")
        zunray.wait(pinned_job["id"])
        _until(lambda: _cpus(zc) == every and _cpus(jc) == every)  # spread back once the pin ended
    finally:
        for job in (shared_job, pinned_job):
            if job:
                zunray.http.post(f"/v1/jobs/{job['id']}/cancel")
        zunray.delete_container(ctr["uuid"])
