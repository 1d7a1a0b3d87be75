"""Attack suite, item 1: a member mounts only its own project's named volumes.

On main before this suite, alice read the host's /etc/hostname through
``"mounts": [{"source": "/", "destination": "/h"}]``.
"""

from __future__ import annotations

import time
import uuid

import pytest

from runner.errors import Forbidden, InvalidSpec
from runner.mounts import docker_binds, parse_zun_mounts
from tests.tenancy import delete_and_wait

RULE = "container:create:host_mounts"
BOX = {"image": "busybox:latest", "cpu": 0.1, "memory": 16}


def _run(client, command: str, mounts: list) -> dict:  # noqa: ANN001
    resp = client.post(
        "/v1/containers?run=true", json={**BOX, "command": ["sh", "-c", command], "mounts": mounts}
    )
    assert resp.status_code == 202, resp.text
    return resp.json()


def _logs_when_exited(client, uuid_: str, *, timeout_s: float = 60.0) -> str:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while (c := client.get(f"/v1/containers/{uuid_}").json())["status"] not in ("Stopped", "Error"):
        assert time.monotonic() < deadline, c
        time.sleep(0.2)
    assert c["status"] == "Stopped", c["status_reason"]
    return client.get(f"/v1/containers/{uuid_}/logs").text


def _delete(client, uuid_: str) -> None:  # noqa: ANN001
    delete_and_wait(client, f"/v1/containers/{uuid_}", stop="True")  # members may not force-delete


@pytest.mark.parametrize(
    "source",
    ["/", "/etc", "../../etc", "data/../../etc", "..", "./x", "~root"],
    ids=["root", "etc", "dotdot", "hidden-dotdot", "parent", "relative", "home"],
)
def test_a_member_naming_a_host_path_is_403_naming_the_rule(secured, as_user, source):
    alice = as_user("alice")
    before = {c["uuid"] for c in alice.get("/v1/containers").json()["containers"]}
    resp = alice.post(
        "/v1/containers?run=true",
        json={
            **BOX,
            "command": ["cat", "/h/etc/hostname"],
            "mounts": [{"source": source, "destination": "/h"}],
        },
    )
    assert resp.status_code == 403, resp.text
    assert RULE in resp.json()["errors"][0]["detail"]
    assert {c["uuid"] for c in alice.get("/v1/containers").json()["containers"]} == before
    binds = [b for c in secured.containers() for b in (c.attrs["HostConfig"].get("Binds") or [])]
    assert not [b for b in binds if b.split(":")[0] in ("/", "/etc")], binds


def test_a_member_capsule_with_a_host_path_volume_is_403(as_user):
    template = {
        "kind": "capsule",
        "metadata": {"name": "hostpath"},
        "spec": {
            "containers": [
                {
                    "image": "busybox:latest",
                    "command": ["cat", "/h/etc/hostname"],
                    "volumeMounts": [{"name": "h", "mountPath": "/h"}],
                }
            ],
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        },
    }
    resp = as_user("alice").post("/v1/capsules", json={"template": template})
    assert resp.status_code == 403, resp.text
    assert RULE in resp.json()["errors"][0]["detail"]


def test_volumes_are_per_project_even_when_named_after_another_projects_volume(secured, as_user):
    alice, bob = as_user("alice"), as_user("bob")
    name = f"data{uuid.uuid4().hex[:6]}"
    made = _run(
        alice,
        "echo alice-secret > /v/secret; cat /v/secret",
        [{"source": name, "destination": "/v"}],
    )
    try:
        assert "alice-secret" in _logs_when_exited(alice, made["uuid"])
        p1 = made["project_id"]
        # bob names the volume the way alice did, and by the Docker name of alice's volume
        for source in (name, f"{secured.settings.instance}-vol-{p1}-{name}"):
            peek = _run(
                bob, "cat /v/secret || echo nothing-here", [{"source": source, "destination": "/v"}]
            )
            try:
                logs = _logs_when_exited(bob, peek["uuid"])
                assert "alice-secret" not in logs and "nothing-here" in logs, logs
            finally:
                _delete(bob, peek["uuid"])
        again = _run(
            alice, "cat /v/secret", [{"source": name, "destination": "/v"}]
        )  # the volume outlives its container
        try:
            assert "alice-secret" in _logs_when_exited(alice, again["uuid"])
        finally:
            _delete(alice, again["uuid"])
    finally:
        _delete(alice, made["uuid"])


def test_the_cloud_admin_may_mount_a_host_path(secured, as_user, tmp_path):
    (tmp_path / "note").write_text("from-the-host\n")
    carol = as_user("carol")
    made = _run(
        carol, "cat /h/note", [{"source": str(tmp_path), "destination": "/h", "read_only": True}]
    )
    try:
        assert "from-the-host" in _logs_when_exited(carol, made["uuid"])
    finally:
        _delete(carol, made["uuid"])


@pytest.mark.parametrize(
    "mounts, field",
    [
        ([{"source": "v", "destination": "relative"}], "mounts[0].destination"),
        ([{"source": "v", "destination": "/a/../b"}], "mounts[0].destination"),
        ([{"source": "", "destination": "/a"}], "mounts[0].source"),
        ([{"source": "bad name!", "destination": "/a"}], "mounts[0].source"),
        ([{"source": "v", "destination": "/a", "type": "tmpfs"}], "mounts[0].type"),
        ([{"source": "v" * 64, "destination": "/a"}], "mounts[0].source"),
        ([{"source": "v", "destination": "/a"}] * 17, "mounts"),
        ("not-a-list", "mounts"),
    ],
    ids=[
        "relative-destination",
        "dotdot-destination",
        "empty-source",
        "bad-name",
        "unknown-type",
        "long-name",
        "too-many",
        "not-a-list",
    ],
)
def test_malformed_mounts_are_400_naming_the_field(mounts, field):
    with pytest.raises(InvalidSpec) as err:
        parse_zun_mounts(mounts, may_mount_host=True)
    assert err.value.field == field


def test_the_rule_is_checked_before_the_path_is_looked_at():
    with pytest.raises(Forbidden, match=RULE):
        parse_zun_mounts([{"source": "../../etc", "destination": "/h"}], may_mount_host=False)
    with pytest.raises(InvalidSpec):
        parse_zun_mounts([{"source": "../../etc", "destination": "/h"}], may_mount_host=True)


def test_host_paths_are_told_apart_from_volume_names():
    parsed = parse_zun_mounts(
        [
            {"source": "data", "destination": "/d"},
            {"source": "/srv", "destination": "/s", "read_only": True},
        ],
        may_mount_host=True,
    )
    assert [m["type"] for m in parsed] == ["volume", "host"]
    binds, volumes = docker_binds(parsed, instance="zr", project_id="p1")
    assert binds == ["zr-vol-p1-data:/d", "/srv:/s:ro"] and volumes == ["zr-vol-p1-data"]


def test_a_path_stored_before_the_fix_mounts_a_volume_not_the_host():
    """A record written by an older gateway (type volume, source "/") must not reach the host."""
    binds, _ = docker_binds(
        [{"type": "volume", "source": "/", "destination": "/h"}], instance="zr", project_id="p1"
    )
    assert binds == ["zr-vol-p1-_:/h"]
