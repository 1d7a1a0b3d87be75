"""Dedicated (pinned) cpus for NFV jobs on a real host (2 cpus: one may be pinned)."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def test_dedicated_job_is_pinned_and_shared_work_stays_off_its_cpu(zunray):
    pinned = zunray.submit(
        command=["sleep", "30"], resources={"cpu": 1, "memory_mb": 32}, cpu_policy="dedicated"
    )
    try:
        zunray.wait(pinned["id"], until=("Running",))
        [pc] = zunray.containers(uuid=pinned["id"])
        cpus = pc.attrs["HostConfig"]["CpusetCpus"]
        assert cpus in ("0", "1") and pc.attrs["HostConfig"]["CpusetMems"] == "0"
        shared = zunray.submit(command=["sleep", "30"], resources={"cpu": 0.25, "memory_mb": 16})
        zunray.wait(shared["id"], until=("Running",))
        [sc] = zunray.containers(uuid=shared["id"])
        assert cpus not in sc.attrs["HostConfig"]["CpusetCpus"].split(",")
        second = zunray.submit(
            command=["true"], resources={"cpu": 1, "memory_mb": 16}, cpu_policy="dedicated"
        )
        time.sleep(3)  # a heartbeat or two
        waiting = zunray.http.get(f"/v1/jobs/{second['id']}").json()
        assert waiting["status"] == "Queued" and "free to pin" in waiting["status_reason"]
        zunray.http.post(f"/v1/jobs/{pinned['id']}/cancel")
        assert zunray.wait(second["id"], timeout_s=30)["status"] == "Succeeded"  # the cpu came back
    finally:
        _cancel_open_jobs(zunray)


def test_dedicated_needs_whole_cpus(zunray):
    resp = zunray.http.post(
        "/v1/jobs",
        json={"image": "busybox:latest", "resources": {"cpu": 0.5}, "cpu_policy": "dedicated"},
    )
    assert resp.status_code == 400 and "cpu_policy" in resp.json()["errors"][0]["detail"]


def _cancel_open_jobs(zunray) -> None:
    for job in zunray.http.get("/v1/jobs", params={"status": ["Queued", "Running"]}).json()["jobs"]:
        zunray.http.post(f"/v1/jobs/{job['id']}/cancel")


def test_capabilities_and_allowed_sysctls_reach_the_container(zunray):
    script = "cat /proc/sys/net/ipv4/ip_forward; ip link set lo mtu 1400 && echo mtu-set"
    job = zunray.submit(
        command=["sh", "-c", script],
        capabilities=["NET_ADMIN"],
        sysctls={"net.ipv4.ip_forward": "1"},
    )
    done = zunray.wait(job["id"])
    logs = zunray.http.get(f"/v1/jobs/{job['id']}/logs").text
    assert done["status"] == "Succeeded", (done["status_reason"], logs)
    assert logs.split() == ["1", "mtu-set"]
    assert done["capabilities"] == ["NET_ADMIN"] and done["sysctls"] == {"net.ipv4.ip_forward": "1"}
    without = zunray.wait(zunray.submit(command=["ip", "link", "set", "lo", "mtu", "1400"])["id"])
    assert without["status"] == "Failed"  # no NET_ADMIN: the same command is refused


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"sysctls": {"kernel.panic": "1"}},
            (400, "sysctls: not allowed: ['kernel.panic']"),
            id="sysctl-not-allowed",
        ),
        pytest.param(
            {"capabilities": ["SYS_ADMIN"]}, (400, "capabilities"), id="capability-not-offered"
        ),
        pytest.param(
            {"resources": {"hugepages_2m_pages": 4}},
            (400, "huge pages need an explicit memory request"),
            id="hugepages-without-memory",
        ),
        pytest.param({"affinity": {"bad key!": "x"}}, (400, "invalid labels"), id="bad-label"),
    ],
)
def test_bad_nfv_options_are_refused(zunray, change, expected):
    resp = zunray.http.post("/v1/jobs", json={"image": "busybox:latest", **change})
    assert (resp.status_code, expected[1] in resp.json()["errors"][0]["detail"]) == (
        expected[0],
        True,
    ), resp.text


@pytest.fixture
def hugepages():
    """16 huge pages of 2 MiB and a hugetlbfs at /dev/hugepages, as an operator sets them up."""
    import subprocess
    from pathlib import Path

    nr = Path("/proc/sys/vm/nr_hugepages")
    before = nr.read_text().strip()
    mounted = subprocess.run(["mountpoint", "-q", "/dev/hugepages"]).returncode == 0
    try:
        nr.write_text("16")
    except OSError as exc:
        pytest.skip(f"cannot reserve huge pages here: {exc}")
    if not mounted:
        Path("/dev/hugepages").mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages"], check=True)
    yield 16
    if not mounted:
        subprocess.run(["umount", "/dev/hugepages"], check=False)
    nr.write_text(before)


def test_hugepages_are_placed_from_the_host_inventory_and_usable(zunray, hugepages):
    code = (
        "import mmap, os, uuid; path = f'/dev/hugepages/zr-{uuid.uuid4()}'; f = os.open(path, os.O_CREAT | os.O_RDWR); "
        "os.ftruncate(f, 2 << 20); m = mmap.mmap(f, 2 << 20); m[0] = 1; os.unlink(path); print('huge page ok')"
    )
    deadline = time.monotonic() + 15
    while True:  # the next heartbeat brings the new inventory
        job = zunray.submit(
            image="zunray/python:3.11",
            command=["python3", "-c", code],
            resources={"cpu": 0.25, "memory_mb": 64, "hugepages_2m_pages": 4},
        )
        done = zunray.wait(
            job["id"],
            timeout_s=30,
            until=("Succeeded", "Failed", "Cancelled", "TimedOut", "Queued")
            if time.monotonic() < deadline
            else ("Succeeded", "Failed"),
        )
        if done["status"] != "Queued":
            break
        zunray.http.post(f"/v1/jobs/{job['id']}/cancel")
        time.sleep(1)
    logs = zunray.http.get(f"/v1/jobs/{job['id']}/logs").text
    assert (done["status"], logs) == ("Succeeded", "huge page ok\n"), done["status_reason"]
    too_many = zunray.submit(
        command=["true"], resources={"cpu": 0.25, "memory_mb": 64, "hugepages_2m_pages": 64}
    )
    try:
        time.sleep(1)
        waiting = zunray.http.get(f"/v1/jobs/{too_many['id']}").json()
        assert (
            waiting["status"] == "Queued"
            and "16 free 2 MiB huge pages, 64 asked" in waiting["status_reason"]
        )
    finally:
        zunray.http.post(f"/v1/jobs/{too_many['id']}/cancel")


def test_affinity_and_anti_affinity_between_jobs(zunray):
    try:
        db = zunray.submit(command=["sleep", "4"], labels={"app": "db"})
        zunray.wait(db["id"], until=("Running",))
        near = zunray.submit(command=["true"], affinity={"app": "db"})
        assert zunray.wait(near["id"])["status"] == "Succeeded"  # placed beside the db
        apart = zunray.submit(command=["true"], anti_affinity={"app": "db"})
        time.sleep(1)
        waiting = zunray.http.get(f"/v1/jobs/{apart['id']}").json()
        assert (
            waiting["status"] == "Queued"
            and "anti-affinity: a capsule labelled app=db runs here" in waiting["status_reason"]
        )
        assert zunray.wait(apart["id"], timeout_s=30)["status"] == "Succeeded"  # once the db ended
        lonely = zunray.submit(command=["true"], affinity={"app": "nobody"})
        time.sleep(1)
        shown = zunray.http.get(f"/v1/jobs/{lonely['id']}").json()
        assert (
            shown["status"] == "Queued"
            and "no capsule labelled app=nobody here" in shown["status_reason"]
        )
    finally:
        _cancel_open_jobs(zunray)


def test_zun_container_pins_dedicated_cpus_and_keeps_them_across_a_node_restart(zunray, ray_driver):
    import ray

    from actors.bootstrap import node_actor_name

    zun = {"OpenStack-API-Version": "container 1.40"}
    bad = zunray.http.post(
        "/v1/containers",
        json={"image": "busybox:latest", "cpu": 0.5, "cpu_policy": "dedicated"},
        headers=zun,
    )
    assert bad.status_code == 400 and "whole number of cpus" in bad.text
    c = zunray.http.post(
        "/v1/containers?run=true",
        json={
            "image": "busybox:latest",
            "command": ["sleep", "300"],
            "cpu": 1,
            "memory": 32,
            "cpu_policy": "dedicated",
        },
        headers=zun,
    ).json()
    try:
        deadline = time.monotonic() + 30
        while (shown := zunray.http.get(f"/v1/containers/{c['uuid']}", headers=zun).json())[
            "status"
        ] != "Running":
            assert time.monotonic() < deadline, shown
            time.sleep(0.2)
        [dc] = zunray.containers(uuid=c["uuid"])
        pinned = dc.attrs["HostConfig"]["CpusetCpus"]
        assert pinned in ("0", "1")
        node = ray.get_actor(
            node_actor_name(shown["host"]), namespace=zunray.settings.ray_namespace
        )
        ray.kill(node, no_restart=False)  # the restarted node must know the cpu is still pinned
        time.sleep(3)
        job = zunray.submit(
            command=["true"], resources={"cpu": 1, "memory_mb": 16}, cpu_policy="dedicated"
        )
        time.sleep(2)
        waiting = zunray.http.get(f"/v1/jobs/{job['id']}").json()
        assert waiting["status"] == "Queued" and "free to pin" in waiting["status_reason"], waiting
        shared = zunray.submit(command=["sleep", "5"])
        zunray.wait(shared["id"], until=("Running",))
        [sc] = zunray.containers(uuid=shared["id"])
        assert pinned not in sc.attrs["HostConfig"]["CpusetCpus"].split(
            ","
        )  # shared work stays off it
    finally:
        zunray.http.delete(f"/v1/containers/{c['uuid']}", params={"force": "True"}, headers=zun)
    assert (
        zunray.wait(job["id"], timeout_s=30)["status"] == "Succeeded"
    )  # the cpu came back with the delete
