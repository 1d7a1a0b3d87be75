"""Zun registries: stored credentials used to pull from a real private registry."""

from __future__ import annotations

import pytest
from zunclient import exceptions as zexc

from tests.conftest import free_port
from tests.gateway.zun.conftest import wait_for
from tests.registry import start_registry

pytestmark = [pytest.mark.docker, pytest.mark.ray]


@pytest.fixture(scope="module")
def private(tmp_path_factory, zunray):
    proc, reg = start_registry(tmp_path_factory.mktemp("registry"), free_port(low=25000))
    try:
        image = reg.push(zunray.docker, "busybox:latest", "zunray-test/private", "1")
        yield reg, image
    finally:
        proc.terminate()
        proc.wait(10)
        for img in zunray.docker.images.list(name=f"{reg.domain}/zunray-test/private"):
            for tag in img.tags:  # by name: the id is busybox:latest's too, which must stay
                if tag.startswith(f"{reg.domain}/"):
                    zunray.docker.images.remove(tag)


def test_registry_crud_hides_the_password(zc):
    created = zc.registries.create(
        name="crud-reg", domain="127.0.0.1:5999", username="u", password="p"
    )
    reg = created._info["registry"]
    assert reg["password"] == "***" and reg["domain"] == "127.0.0.1:5999"
    assert [r.password for r in zc.registries.list() if r.name == "crud-reg"] == ["***"]
    zc.registries.update(reg["uuid"], username="u2")
    assert zc.registries.get(reg["uuid"])._info["registry"]["username"] == "u2"
    zc.registries.delete(reg["uuid"])
    with pytest.raises(zexc.NotFound):
        zc.registries.get(reg["uuid"])


def test_container_pulls_through_a_private_registry_with_stored_credentials(
    zc, zunray, made, private
):
    reg, image = private
    zc.registries.create(
        name="private-ok", domain=reg.domain, username=reg.username, password=reg.password
    )
    c = zc.containers.run(
        image="zunray-test/private:1",
        registry="private-ok",
        command=["sh", "-c", "echo pulled; sleep 300"],
    )
    made.append(c.uuid)
    running = wait_for(zc, c.uuid, "Running", timeout_s=60)
    assert running.registry_id
    assert zunray.docker.images.get(image)  # it came from the registry
    assert zc.containers.logs(c.uuid, stdout=True, stderr=True) == "pulled\n"


def test_wrong_credentials_end_in_error_with_the_reason(zc, zunray, made, private):
    reg, image = private
    try:
        zunray.docker.images.remove(image, force=True)
    except Exception:
        pass
    zc.registries.create(
        name="private-bad", domain=reg.domain, username=reg.username, password="wrong"
    )
    c = zc.containers.run(image="zunray-test/private:1", registry="private-bad", command=["true"])
    made.append(c.uuid)
    failed = wait_for(zc, c.uuid, "Error", timeout_s=60)
    assert "could not be pulled" in failed.status_reason
    assert zunray.containers(uuid=c.uuid) == []


def test_jobs_and_functions_pull_through_a_stored_registry_too(zc, zunray, private):
    reg, image = private
    zc.registries.create(
        name="private-jobs", domain=reg.domain, username=reg.username, password=reg.password
    )
    unknown = zunray.http.post("/v1/jobs", json={"image": "x:1", "registry": "nope"})
    assert unknown.status_code == 400 and "registry" in unknown.text

    def absent() -> None:
        """Untag the pulled copy (by its name: its id is busybox's, which must stay)."""
        if zunray.docker.images.list(name=image):
            zunray.docker.images.remove(image)

    absent()
    job = zunray.submit(
        image="zunray-test/private:1", registry="private-jobs", command=["echo", "job pulled"]
    )
    assert job["image"] == image and job["registry_id"]
    done = zunray.wait(job["id"])
    assert done["status"] == "Succeeded", done
    assert zunray.http.get(f"/v1/jobs/{job['id']}/logs").text == "job pulled\n"
    absent()
    made = zunray.http.post(
        "/v1/functions",
        json={
            "name": "private-fn",
            "image": "zunray-test/private:1",
            "registry": "private-jobs",
            "command": ["echo", "fn pulled"],
        },
    )
    assert made.status_code == 201, made.text
    try:
        out = zunray.http.post("/v1/functions/private-fn/invoke", content=b"")
        assert (out.status_code, out.content) == (200, b"fn pulled\n"), out.text
        assert made.json()["image"] == image
    finally:
        zunray.http.delete("/v1/functions/private-fn")
        absent()  # the module's teardown removes what is left under this name by id
