"""Zun capsules: one host, one network namespace, shared volumes, all or nothing."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from zunclient import exceptions as zexc

from tests.gateway.zun.test_openstack_cli import openstack

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def template(name, *, init_cmd="echo seeded > /data/seed", extra=None):
    return {
        "kind": "capsule",
        "metadata": {"name": name, "labels": {"app": "nfv"}},
        "spec": {
            "restartPolicy": "Always",
            "volumes": [{"name": "shared"}],
            "initContainers": [
                {
                    "name": "init",
                    "image": "busybox:latest",
                    "command": ["sh", "-c", init_cmd],
                    "volumeMounts": [{"name": "shared", "mountPath": "/data"}],
                }
            ],
            "containers": [
                {
                    "name": "server",
                    "image": "busybox:latest",
                    "command": ["sh", "-c", "while true; do nc -l -p 8080 -e cat /data/seed; done"],
                    "resources": {"requests": {"cpu": 0.25, "memory": 64}},
                    "volumeMounts": [{"name": "shared", "mountPath": "/data"}],
                },
                {
                    "name": "client",
                    "image": "busybox:latest",
                    "command": ["sleep", "600"],
                    "resources": {"requests": {"cpu": 0.25, "memory": 96}},
                },
            ],
            **(extra or {}),
        },
    }


def wait_capsule(zc, uuid, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while True:
        cap = zc.capsules.get(uuid)
        if cap.status != "Creating":
            return cap
        assert time.monotonic() < deadline, f"capsule {uuid} still Creating: {cap.status_reason}"
        time.sleep(0.1)


def docker_named(zunray, cap_uuid, name):
    [c] = [c for c in zunray.containers(capsule=cap_uuid) if c.labels["zunray.container"] == name]
    return c


def test_capsule_shares_network_and_volumes_after_its_init_container(zc, zunray):
    cap = zc.capsules.create(template=template("cap-ok"))
    try:
        cap = wait_capsule(zc, cap.uuid)
        assert cap.status == "Running", cap.status_reason
        assert [c["status"] for c in cap.containers] == ["Running", "Running"]
        assert (cap.cpu, cap.memory) == (
            0.5,
            "256",
        )  # the init container's default 256 MB is the peak
        client = docker_named(zunray, cap.uuid, "client")
        server = docker_named(zunray, cap.uuid, "server")
        assert (
            client.attrs["HostConfig"]["NetworkMode"] == server.attrs["HostConfig"]["NetworkMode"]
        )
        assert client.attrs["HostConfig"]["NetworkMode"].startswith("container:")
        out = client.exec_run(["sh", "-c", "echo | nc 127.0.0.1 8080"]).output
        assert out == b"seeded\n"  # written by the init container into the shared volume
        assert {c.labels["zunray.node"] for c in zunray.containers(capsule=cap.uuid)} == {cap.host}
    finally:
        zc.capsules.delete(cap.uuid)
    assert zunray.containers(capsule=cap.uuid) == []
    assert zunray.docker.volumes.list(filters={"label": f"zunray.capsule={cap.uuid}"}) == []
    with pytest.raises(zexc.NotFound):
        zc.capsules.get(cap.uuid)


def test_failed_init_leaves_nothing_and_says_why(zc, zunray):
    cap = zc.capsules.create(template=template("cap-bad", init_cmd="exit 3"))
    try:
        cap = wait_capsule(zc, cap.uuid)
        assert cap.status == "Error"
        assert "init container init exited with 3" in cap.status_reason
        assert zunray.containers(capsule=cap.uuid) == []
        assert zunray.docker.volumes.list(filters={"label": f"zunray.capsule={cap.uuid}"}) == []
    finally:
        zc.capsules.delete(cap.uuid)


def test_legacy_shape_before_1_32(zc, zunray):
    cap = zc.capsules.create(template=template("cap-legacy"))
    try:
        old = zunray.http.get(
            f"/v1/capsules/{cap.uuid}", headers={"OpenStack-API-Version": "container 1.31"}
        ).json()
        new = zunray.http.get(
            f"/v1/capsules/{cap.uuid}", headers={"OpenStack-API-Version": "container 1.32"}
        ).json()
        assert old["meta_name"] == new["name"] == "cap-legacy"
        assert old["meta_labels"] == new["labels"] == {"app": "nfv"}
        assert old["restart_policy"] == "always" and new["restart_policy"]["Name"] == "always"
        assert "name" not in old and "meta_name" not in new
    finally:
        wait_capsule(zc, cap.uuid)
        zc.capsules.delete(cap.uuid)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda t: t.pop("kind"), "kind"),
        (lambda t: t.pop("metadata"), "metadata"),
        (lambda t: t.pop("spec"), "spec"),
        (lambda t: t["spec"].pop("containers"), "spec.containers"),
        (
            lambda t: t["spec"]["containers"][0]["volumeMounts"].append(
                {"name": "nope", "mountPath": "/x"}
            ),
            "volumeMounts",
        ),
    ],
    ids=["no-kind", "no-metadata", "no-spec", "no-containers", "unknown-volume"],
)
def test_bad_templates_name_the_field(zunray, mutate, field):
    t = template("cap-invalid")
    mutate(t)
    resp = zunray.http.post(
        "/v1/capsules/", json={"template": t}, headers={"OpenStack-API-Version": "container latest"}
    )
    assert resp.status_code == 400, resp.text
    assert field in resp.json()["errors"][0]["detail"]
    assert not [
        c for c in zunray.http.get("/v1/capsules/").json()["capsules"] if c["name"] == "cap-invalid"
    ]


def test_capsule_create_from_a_yaml_file_with_the_cli(zunray, tmp_path):
    path = tmp_path / "capsule.yaml"
    path.write_text(yaml.safe_dump(template("cap-cli")))
    created = json.loads(
        openstack(zunray, "capsule", "create", "--file", str(path), "-f", "json").stdout
    )
    try:
        listed = json.loads(openstack(zunray, "capsule", "list", "-f", "json").stdout)
        assert any(c["uuid"] == created["uuid"] for c in listed)
    finally:
        openstack(zunray, "capsule", "delete", created["uuid"])
    assert zunray.no_containers(created["uuid"])
