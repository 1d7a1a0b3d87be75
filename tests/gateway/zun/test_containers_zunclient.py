"""Zun containers through the real python-zunclient, checked in Docker itself."""

from __future__ import annotations

import io
import shutil
import tarfile
import time

import pytest
from zunclient import exceptions as zexc

from tests.conftest import ZUN_HEADERS
from tests.gateway.zun.conftest import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def docker_container(zunray, uuid):
    [c] = zunray.containers(uuid=uuid)
    return c


def run(zc, made, **kw):
    kw.setdefault("image", "busybox:latest")
    kw.setdefault("command", ["sh", "-c", "echo started; sleep 600"])
    c = zc.containers.run(**kw)
    made.append(c.uuid)
    assert c.status == "Creating"
    return wait_for(zc, c.uuid, "Running")


def test_run_places_a_limited_container_and_shows_it(zc, zunray, made):
    c = run(
        zc,
        made,
        name="zun-run-1",
        cpu=0.5,
        memory="128",
        environment={"GREETING": "hi"},
        labels={"team": "nfv"},
    )
    assert (c.name, c.cpu, c.memory, c.environment) == ("zun-run-1", 0.5, "128", {"GREETING": "hi"})
    assert c.host and c.command == ["sh", "-c", "echo started; sleep 600"]
    attrs = docker_container(zunray, c.uuid).attrs
    assert attrs["HostConfig"]["NanoCpus"] == 500_000_000
    assert attrs["HostConfig"]["Memory"] == 128 * 1024 * 1024
    assert attrs["HostConfig"]["PidsLimit"] > 0
    assert attrs["Config"]["Labels"]["team"] == "nfv"
    assert attrs["State"]["Running"]
    assert c.uuid in [x.uuid for x in zc.containers.list()]


def test_exec_logs_top_and_stats(zc, made):
    c = run(zc, made)
    result = zc.containers.execute(
        c.uuid, command='sh -c "echo out; echo err >&2; exit 4"', run=True
    )
    assert result["exit_code"] == 4
    assert "out" in result["output"] and "err" in result["output"]
    assert zc.containers.logs(c.uuid, stdout=True, stderr=True) == "started\n"
    top = zc.containers.top(c.uuid)
    assert "PID" in top["Titles"] and any("sleep 600" in " ".join(p) for p in top["Processes"])
    stats = zc.containers.stats(c.uuid)
    assert stats["MEM LIMIT(MiB)"] == 512.0 and "CPU %" in stats


def test_lifecycle_actions_follow_docker_and_refuse_wrong_states(zc, zunray, made):
    c = run(zc, made)
    zc.containers.stop(c.uuid, timeout=1)
    assert wait_for(zc, c.uuid, "Stopped").status == "Stopped"
    assert not docker_container(zunray, c.uuid).attrs["State"]["Running"]
    with pytest.raises(zexc.Conflict, match=f"Cannot stop container {c.uuid} in Stopped state"):
        zc.containers.stop(c.uuid, timeout=1)
    zc.containers.start(c.uuid)
    wait_for(zc, c.uuid, "Running")
    zc.containers.pause(c.uuid)
    wait_for(zc, c.uuid, "Paused")
    assert docker_container(zunray, c.uuid).attrs["State"]["Paused"]
    with pytest.raises(zexc.Conflict):
        zc.containers.execute(c.uuid, command="true", run=True)
    zc.containers.unpause(c.uuid)
    wait_for(zc, c.uuid, "Running")
    zc.containers.restart(c.uuid, timeout=1)
    wait_for(zc, c.uuid, "Running")
    zc.containers.kill(c.uuid, signal="SIGKILL")
    stopped = wait_for(zc, c.uuid, "Stopped")
    assert "137" in stopped.status_reason


def test_archive_round_trips(zc, made):
    c = run(zc, made)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        payload = b"packet capture config\n"
        info = tarfile.TarInfo("nfv.conf")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    zc.containers.put_archive(c.uuid, "/tmp", buf.getvalue())
    assert (
        zc.containers.execute(c.uuid, command="cat /tmp/nfv.conf", run=True)["output"]
        == "packet capture config\n"
    )
    got = zc.containers.get_archive(c.uuid, "/tmp/nfv.conf")
    with tarfile.open(fileobj=io.BytesIO(got["data"])) as tar:
        assert tar.extractfile("nfv.conf").read() == b"packet capture config\n"
    assert got["stat"]["name"] == "nfv.conf"


def test_update_changes_the_live_limits_and_the_name(zc, zunray, made):
    c = run(zc, made, cpu=0.5, memory="128")
    updated = zc.containers.update(c.uuid, cpu="1", memory="256", name="zun-renamed")
    assert (updated.cpu, updated.memory, updated.name) == (1.0, "256", "zun-renamed")
    hc = docker_container(zunray, c.uuid).attrs["HostConfig"]
    assert (hc["NanoCpus"], hc["Memory"]) == (1_000_000_000, 256 * 1024 * 1024)
    assert zc.containers.get("zun-renamed").uuid == c.uuid


def test_delete_rules(zc, zunray, made):
    c = run(zc, made)
    with pytest.raises(zexc.Conflict, match="in Running state"):
        zc.containers.delete(c.uuid)
    zc.containers.delete(c.uuid, stop=True)
    with pytest.raises(zexc.NotFound):
        zc.containers.get(c.uuid)
    assert zunray.no_containers(c.uuid)
    other = run(zc, made)
    zc.containers.delete(other.uuid, force=True)
    assert zunray.no_containers(other.uuid)


def test_names_resolve_and_ambiguous_names_conflict(zc, made):
    a = run(zc, made, name="twin")
    assert zc.containers.get("twin").uuid == a.uuid
    run(zc, made, name="twin")
    with pytest.raises(zexc.Conflict, match="Multiple containers exist with same name"):
        zc.containers.get("twin")
    with pytest.raises(zexc.NotFound):
        zc.containers.get("nobody-has-this-name")


def test_action_log_keeps_the_request_ids(zc, zunray, made):
    c = run(zc, made)
    resp = zunray.http.post(
        f"/v1/containers/{c.uuid}/stop?timeout=1",
        headers={"OpenStack-API-Version": "container latest"},
    )
    assert resp.status_code == 202
    actions = zc.actions.list(c.uuid)
    assert [a.action for a in actions] == ["stop", "start", "create"] or [
        a.action for a in actions
    ] == ["stop", "create"]
    assert actions[0].request_id == resp.headers["x-openstack-request-id"]
    shown = zc.actions.get(c.uuid, actions[0].request_id)
    assert shown.events[0]["result"] == "Success"


def test_commit_makes_an_image(zc, zunray, made):
    c = run(zc, made)
    zc.containers.execute(c.uuid, command="sh -c 'echo baked > /baked'", run=True)
    image = zc.containers.commit(c.uuid, "zunray-test/committed", "v1")
    try:
        assert zunray.docker.images.get("zunray-test/committed:v1").id == image["uuid"]
    finally:
        zunray.docker.images.remove("zunray-test/committed:v1", force=True)


def test_rebuild_recreates_the_container(zc, zunray, made):
    c = run(zc, made)
    before = docker_container(zunray, c.uuid).id
    zc.containers.rebuild(c.uuid)
    wait_for(zc, c.uuid, "Running")
    assert docker_container(zunray, c.uuid).id != before


def test_command_shape_follows_the_microversion(zunray, made, zc):
    c = run(zc, made)
    old = zunray.http.get(
        f"/v1/containers/{c.uuid}", headers={"OpenStack-API-Version": "container 1.19"}
    ).json()
    new = zunray.http.get(
        f"/v1/containers/{c.uuid}", headers={"OpenStack-API-Version": "container 1.20"}
    ).json()
    assert old["command"] == "sh -c 'echo started; sleep 600'"
    assert new["command"] == ["sh", "-c", "echo started; sleep 600"]


def test_hosts_come_from_the_node_reports(zc, zunray):
    [host] = zc.hosts.list()
    assert host.cpus >= 1 and host.mem_total > 0 and "runc" in host.runtimes
    assert zc.hosts.get(host.uuid).hostname == host.hostname
    # the disk is the filesystem holding the engine's data root, in GB as Zun reports it
    disk = shutil.disk_usage(zunray.docker.info()["DockerRootDir"])
    assert host.disk_total == disk.total >> 30 > 0
    assert abs(host.disk_used - (disk.used >> 30)) <= 1 and host.labels == {}


def test_image_that_cannot_be_had_ends_in_error(zc, made):
    c = zc.containers.run(image="zunray-test/absent:1", command=["true"])
    made.append(c.uuid)
    failed = wait_for(zc, c.uuid, "Error")
    assert "zunray-test/absent:1" in failed.status_reason


def test_auto_heal_restarts_a_container_that_died_but_not_one_stopped_on_purpose(zc, zunray, made):
    c = run(zc, made, auto_heal=True)
    zunray.docker.containers.get(
        docker_container(zunray, c.uuid).id
    ).kill()  # dies behind Zun's back
    deadline = time.monotonic() + 20
    while (
        docker_container(zunray, c.uuid).attrs["State"]["Running"] is False
        or zc.containers.get(c.uuid).status != "Running"
    ):
        assert time.monotonic() < deadline, "not healed"
        time.sleep(0.2)
    zc.containers.stop(c.uuid, timeout=1)
    wait_for(zc, c.uuid, "Stopped")
    time.sleep(3)  # two sync rounds
    assert zc.containers.get(c.uuid).status == "Stopped"


def test_restart_policy_and_healthcheck_reach_docker(zc, zunray, made):
    c = run(
        zc,
        made,
        restart_policy={"Name": "on-failure", "MaximumRetryCount": "2"},
        healthcheck={"cmd": "true", "interval": 5, "retries": 2, "timeout": 3},
    )
    attrs = docker_container(zunray, c.uuid).attrs
    assert attrs["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert attrs["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]
    assert zc.containers.get(c.uuid).restart_policy == {
        "Name": "on-failure",
        "MaximumRetryCount": "2",
    }


def test_bind_mount_content_is_injected_as_zun_does(zc, made):
    # zunclient itself base64-encodes a bind mount's source, the file content
    c = run(
        zc,
        made,
        mounts=[{"type": "bind", "source": b"threads=4\n", "destination": "/etc/app/app.conf"}],
    )
    assert (
        zc.containers.execute(c.uuid, command="cat /etc/app/app.conf", run=True)["output"]
        == "threads=4\n"
    )


def test_actions_take_their_parameters_from_a_json_body_as_zun_does(zc, zunray, made):
    c = run(zc, made)
    url = f"/v1/containers/{c.uuid}"
    answer = zunray.http.post(
        f"{url}/execute", headers=ZUN_HEADERS, json={"command": "echo from-the-body", "run": True}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"] == "from-the-body\n"
    # the query wins where both name a parameter (what python-zunclient sends)
    both = zunray.http.post(
        f"{url}/execute",
        params={"command": "echo from-the-query"},
        headers=ZUN_HEADERS,
        json={"command": "echo body"},
    )
    assert both.json()["output"] == "from-the-query\n"
    assert (
        zunray.http.post(
            f"{url}/execute", headers=ZUN_HEADERS, json={"command": ["not", "a", "string"]}
        ).status_code
        == 400
    )
    assert (
        zunray.http.post(f"{url}/stop", headers=ZUN_HEADERS, json={"timeout": 1}).status_code == 202
    )
    assert wait_for(zc, c.uuid, "Stopped").status == "Stopped"


def test_addresses_and_ports_are_a_dict_and_a_list_clients_can_iterate(zc, made):
    c = run(zc, made)
    shown = zc.containers.get(c.uuid)
    assert shown.addresses == {} and shown.ports == []
    assert [name for name in shown.addresses] == []  # code written for Zun iterates it
