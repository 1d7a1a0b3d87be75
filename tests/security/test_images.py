"""Attacks on images (issue 14, item 2): a member tries to change what another
project or the platform runs, to use another project's privately pulled image,
to force pulls, to tag through a tarball and to make dockerd reach addresses.

alice is a member of p1, bob of p2 (tests/tenancy.py); the engine is the real one.
"""

from __future__ import annotations

import io
import json
import socket
import tarfile
import threading
import time

import docker
import pytest

from runner.errors import ImageUnavailable
from runner.models import PullPolicy
from runner.runtimes import docker_images
from runner.runtimes.docker import DockerRuntime
from runner.settings import Settings
from tests.conftest import free_port
from tests.registry import start_registry
from tests.tenancy import delete_and_wait

pytestmark = [pytest.mark.docker, pytest.mark.ray]

BUSYBOX = "busybox:latest"
DOCKERD_WORDS = ("dial tcp", "connection refused", "/v2/", 'Get "http')


@pytest.fixture
def engine():
    client = docker.from_env(version="auto")
    yield client
    client.close()


def _wait_container(http, uuid: str, *statuses: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        c = http.get(f"/v1/containers/{uuid}").json()
        if c["status"] in statuses and c.get("task_state") is None:
            return c
        assert time.monotonic() < deadline, (
            f"container {uuid} is {c['status']}: {c.get('status_reason')}"
        )
        time.sleep(0.2)


def _wait_job(http, job_id: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("Succeeded", "Failed", "Cancelled", "TimedOut"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} is {job['status']}"
        time.sleep(0.2)


def _run_container(http, body: dict) -> str:
    r = http.post(
        "/v1/containers?run=true", json={"command": ["sleep", "300"], "memory": "64", **body}
    )
    assert r.status_code == 202, r.text
    return r.json()["uuid"]


def _job(image: str) -> dict:
    return {
        "image": image,
        "command": ["true"],
        "resources": {"cpu": 0.1, "memory_mb": 32},
        "timeout_s": 60,
    }


@pytest.fixture
def alice_container(as_user):
    alice = as_user("alice")
    uuid = _run_container(alice, {"image": BUSYBOX})
    _wait_container(alice, uuid, "Running")
    yield alice, uuid
    delete_and_wait(alice, f"/v1/containers/{uuid}", stop="true")


def test_a_member_commit_never_replaces_a_platform_image_or_a_tag_it_did_not_create(
    alice_container, as_user, keystone, engine
):
    alice, uuid = alice_container
    p1 = keystone.projects["p1"]["id"]
    before = engine.images.get(BUSYBOX).id
    foreign = f"{p1}/planted"  # a tag in p1's namespace that p1 never committed (as another tenant's pull or tag would be)
    engine.images.get(BUSYBOX).tag(foreign, "1")
    own = f"{p1}/snapshot"
    made: list[str] = []
    try:
        platform = alice.post(
            f"/v1/containers/{uuid}/commit", params={"repository": "busybox", "tag": "latest"}
        )
        elsewhere = alice.post(
            f"/v1/containers/{uuid}/commit", params={"repository": "shared/app", "tag": "1"}
        )
        planted = alice.post(
            f"/v1/containers/{uuid}/commit", params={"repository": foreign, "tag": "1"}
        )
        assert (platform.status_code, elsewhere.status_code, planted.status_code) == (
            403,
            403,
            403,
        ), (platform.text, elsewhere.text, planted.text)
        assert "container:commit:any_repository" in elsewhere.text
        assert engine.images.get(BUSYBOX).id == before
        assert engine.images.get(f"{foreign}:1").id == before
        with pytest.raises(docker.errors.ImageNotFound):
            engine.images.get("shared/app:1")
        first = alice.post(f"/v1/containers/{uuid}/commit", params={"repository": own, "tag": "1"})
        again = alice.post(
            f"/v1/containers/{uuid}/commit", params={"repository": own, "tag": "1"}
        )  # its own tag: fine
        assert (first.status_code, again.status_code) == (202, 202), (first.text, again.text)
        made += [first.json()["uuid"], again.json()["uuid"]]
        bob = as_user("bob")
        bob_uuid = _run_container(bob, {"image": BUSYBOX})
        try:
            _wait_container(bob, bob_uuid, "Running")
            theirs = bob.post(
                f"/v1/containers/{bob_uuid}/commit", params={"repository": own, "tag": "1"}
            )
            assert theirs.status_code == 403, theirs.text
            assert engine.images.get(f"{own}:1").id == again.json()["uuid"]
        finally:
            delete_and_wait(bob, f"/v1/containers/{bob_uuid}", stop="true")
    finally:
        for ref in (
            f"{foreign}:1",
            f"{own}:1",
            *made,
        ):  # the first commit's image is left untagged by the second
            try:
                engine.images.remove(ref)
            except docker.errors.ImageNotFound:
                pass


@pytest.fixture
def private_image(tmp_path, engine):
    proc, reg = start_registry(tmp_path, free_port(low=25000))
    try:
        yield reg, reg.push(engine, BUSYBOX, "zunray-sec/private", "1")
    finally:
        proc.terminate()
        proc.wait(10)
        for img in engine.images.list(name=f"{reg.domain}/zunray-sec/private"):
            for tag in img.tags:  # by tag: the id is busybox's own
                if tag.startswith(f"{reg.domain}/"):
                    engine.images.remove(tag)


def test_an_image_pulled_with_one_projects_credentials_is_not_run_for_another(
    as_user, private_image, engine
):
    reg, image = private_image
    alice, bob = as_user("alice"), as_user("bob")
    r = alice.post(
        "/v1/registries",
        json={
            "registry": {
                "name": "alice-reg",
                "domain": reg.domain,
                "username": reg.username,
                "password": reg.password,
            }
        },
    )
    assert r.status_code == 201, r.text
    made = []
    try:
        made.append(
            (
                alice,
                _run_container(alice, {"image": "zunray-sec/private:1", "registry": "alice-reg"}),
            )
        )
        _wait_container(alice, made[-1][1], "Running")
        assert engine.images.get(image)  # A's copy is on the host now
        made.append((bob, _run_container(bob, {"image": image})))
        refused = _wait_container(bob, made[-1][1], "Error", "Running")
        assert refused["status"] == "Error" and "could not be pulled" in refused["status_reason"], (
            refused
        )
        job = bob.post("/v1/jobs", json=_job(image))
        assert job.status_code == 202, job.text
        assert _wait_job(bob, job.json()["id"])["status"] == "Failed"
    finally:
        for http, uuid in made:
            http.delete(f"/v1/containers/{uuid}?stop=true")
        alice.delete(f"/v1/registries/{r.json()['registry']['uuid']}")


def test_an_image_id_prefix_does_not_reach_an_image(as_user, engine):
    bob = as_user("bob")
    prefix = engine.images.get(BUSYBOX).id.removeprefix("sha256:")[:12]
    assert bob.post("/v1/jobs", json=_job(f"sha256:{prefix}")).status_code == 400
    job = bob.post("/v1/jobs", json=_job(prefix))
    assert job.status_code == 202, job.text
    assert _wait_job(bob, job.json()["id"])["status"] == "Failed"  # never busybox by its id


def test_a_non_default_pull_policy_is_admin_only(as_user):
    alice = as_user("alice")
    job = alice.post("/v1/jobs", json={**_job(BUSYBOX), "image_pull_policy": "always"})
    container = alice.post("/v1/containers", json={"image": BUSYBOX, "image_pull_policy": "always"})
    function = alice.post(
        "/v1/functions",
        json={"name": "pulls", "image": BUSYBOX, "command": ["cat"], "image_pull_policy": "never"},
    )
    capsule = alice.post(
        "/v1/capsules",
        json={
            "template": {
                "kind": "capsule",
                "metadata": {"name": "pulls"},
                "spec": {
                    "containers": [
                        {
                            "image": BUSYBOX,
                            "imagePullPolicy": "Always",
                            "resources": {"requests": {"cpu": 0.1, "memory": 32}},
                        }
                    ]
                },
            },
        },
    )
    assert [r.status_code for r in (job, container, function, capsule)] == [403] * 4, [
        r.text for r in (job, container, function, capsule)
    ]
    default = alice.post("/v1/jobs", json={**_job(BUSYBOX), "image_pull_policy": "ifnotpresent"})
    assert default.status_code == 202, default.text


@pytest.fixture
def listener():
    """A TCP listener on a loopback address no registry list names; counts connections."""
    sock = socket.socket()
    sock.bind(("127.0.0.9", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    accepted: list = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.9:{sock.getsockname()[1]}", accepted
    stop.set()
    thread.join(2)
    sock.close()


def test_a_registry_host_off_the_list_is_refused_before_any_connection(as_user, listener):
    host, accepted = listener
    alice = as_user("alice")
    image = f"{host}/probe:1"
    answers = [
        alice.post("/v1/jobs", json=_job(image)),
        alice.post("/v1/containers", json={"image": image}),
        alice.post("/v1/functions", json={"name": "probe", "image": image, "command": ["cat"]}),
    ]
    assert [r.status_code for r in answers] == [403] * 3, [r.text for r in answers]
    assert all("allowed_registries" in r.text for r in answers)
    # the node's driver refuses too (paths that do not come through the gateway, e.g. the SDK over Ray)
    runtime = DockerRuntime(
        url=Settings.model_fields["docker_url"].default,
        instance="sec-images",
        node="sec-images",
        allowed_registries=("127.0.0.1",),
    )
    with pytest.raises(ImageUnavailable, match="not on the operator's list"):
        runtime.ensure_image(image, PullPolicy.IF_NOT_PRESENT)
    time.sleep(0.5)
    assert accepted == []


def test_a_failed_pull_never_shows_dockerds_network_text(as_user):
    alice = as_user("alice")
    closed = free_port(low=26000)  # on the allowed host, but nothing listens there
    uuid = _run_container(alice, {"image": f"127.0.0.1:{closed}/nothing:1"})
    try:
        failed = _wait_container(alice, uuid, "Error")
        assert "could not be pulled" in failed["status_reason"]
        assert not any(word in failed["status_reason"] for word in DOCKERD_WORDS), failed[
            "status_reason"
        ]
    finally:
        delete_and_wait(alice, f"/v1/containers/{uuid}")


def test_a_tarball_never_applies_its_own_tags(engine, tmp_path):
    """A Glance image is a ``docker save`` tarball; this one claims a tag the platform uses.

    The victim tag is a stand-in made by the test (same mechanism as busybox:latest, which
    the other tests on this machine run: a failure here must not break them)."""
    victim = "zunray-sec/platform:latest"
    engine.images.get(BUSYBOX).tag("zunray-sec/platform", "latest")
    before = engine.images.get(victim).id
    rootfs = io.BytesIO()
    with tarfile.open(fileobj=rootfs, mode="w") as tar:
        info = tarfile.TarInfo("evil")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    engine.api.import_image_from_data(rootfs.getvalue(), repository="zunray-sec/evil", tag="1")
    evil = engine.images.get("zunray-sec/evil:1")
    saved = io.BytesIO(b"".join(engine.api.get_image(evil.id)))
    crafted = io.BytesIO()
    with tarfile.open(fileobj=saved) as tin, tarfile.open(fileobj=crafted, mode="w") as tout:
        for member in tin:
            data = tin.extractfile(member).read() if member.isfile() else None
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest[0]["RepoTags"] = [victim]
                data = json.dumps(manifest).encode()
                member.size = len(data)
            tout.addfile(member, io.BytesIO(data) if data is not None else None)
    engine.images.remove(evil.id, force=True)
    runtime = DockerRuntime(
        url=Settings.model_fields["docker_url"].default, instance="sec-images", node="sec-images"
    )
    try:
        docker_images.load_image(runtime, crafted.getvalue(), tag_as="zunray-sec/glance:1")
        assert engine.images.get(victim).id == before
        assert engine.images.get("zunray-sec/glance:1").id == evil.id
    finally:
        for ref in ("zunray-sec/glance:1", victim):
            try:
                engine.images.remove(ref, force=True)
            except docker.errors.ImageNotFound:
                pass
