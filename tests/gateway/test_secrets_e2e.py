"""Secrets on the shared stack, real Docker: a job gets one as an environment variable and one as
a file (0400, owned by the image's user); no view, log or trace of Zunray ever holds a value."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import ZUN_HEADERS

pytestmark = [pytest.mark.docker, pytest.mark.ray]

USER_IMAGE = "zunray-test-secrets-user:latest"  # busybox running as 1234:1235


@pytest.fixture(scope="module")
def user_image(zunray):
    """busybox with ``USER 1234:1235``, made by a commit (no registry, no build)."""
    c = zunray.docker.containers.create("busybox:latest", ["true"])
    try:
        c.commit(repository=USER_IMAGE.split(":")[0], tag="latest", conf={"User": "1234:1235"})
    finally:
        c.remove(force=True)
    yield USER_IMAGE
    zunray.docker.images.remove(USER_IMAGE, force=True)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []


def _ray_session(zunray) -> Path:
    """The Ray session of this stack (its worker logs hold the node actors' log lines)."""
    text = (zunray.settings.data_dir / "logs" / "ray.log").read_text(errors="replace")
    found = re.findall(r"(/[\w/.-]*/session_[\w.-]+)", text)
    assert found, "no Ray session directory in ray.log"
    return Path(found[-1])


def test_a_job_gets_its_secrets_and_nothing_of_zunray_shows_them(zunray, user_image):
    http = zunray.http
    db, cert = f"db-{uuid.uuid4().hex}", f"-----CERT {uuid.uuid4().hex}-----"
    names = [f"db-{uuid.uuid4().hex[:8]}", f"cert-{uuid.uuid4().hex[:8]}"]
    for name, value in zip(names, (db, cert)):
        made = http.post("/v1/secrets", json={"name": name, "value": value})
        assert made.status_code == 201, made.text
    refs = [{"secret": names[0], "env": "DB_PASS"}, {"secret": names[1], "file": "tls.pem"}]

    missing = http.post(
        "/v1/jobs", json={"image": "busybox:latest", "secrets": [{"secret": "nope", "env": "X"}]}
    )
    assert missing.status_code == 400 and "secrets[0].secret" in missing.text

    script = (
        'echo "$DB_PASS" | md5sum; md5sum < /run/secrets/tls.pem; '
        "stat -c '%a %u %g' /run/secrets/tls.pem; id -u; "
        "(echo nope > /run/secrets/x) 2>/dev/null || echo read-only"
    )
    job = zunray.submit(image=user_image, command=["sh", "-c", script], secrets=refs)
    done = zunray.wait(job["id"])
    assert done["status"] == "Succeeded", done
    logs = http.get(f"/v1/jobs/{job['id']}/logs").text
    # the values reached the container (echo adds a newline; the file is the value as it is)
    assert _md5(f"{db}\n") in logs and _md5(cert) in logs
    assert "400 1234 1235\n1234\nread-only" in logs  # 0400, the image's user, a read-only mount
    assert done["secrets"] == refs  # the view shows the references

    # a schedule's template references one: it cannot go while the schedule is there
    sched = http.post(
        "/v1/schedules",
        json={
            "name": f"s-{uuid.uuid4().hex[:8]}",
            "cron": "0 0 1 1 *",
            "suspend": True,
            "job": {"image": "busybox:latest", "secrets": refs[:1]},
        },
    )
    assert sched.status_code == 201, sched.text
    refused = http.delete(f"/v1/secrets/{names[0]}")
    assert refused.status_code == 409 and sched.json()["id"] in refused.text

    views = [
        http.get(f"/v1/jobs/{job['id']}").text,
        http.get("/v1/jobs").text,
        http.get("/v1/secrets").text,
        http.get(f"/v1/secrets/{names[1]}").text,
        http.get(f"/v1/schedules/{sched.json()['id']}").text,
    ]
    replaced = http.put(f"/v1/secrets/{names[1]}", json={"value": "other"})
    assert replaced.status_code == 200 and "other" not in replaced.text
    assert http.delete(f"/v1/schedules/{sched.json()['id']}").status_code == 204
    for name in names:
        assert http.delete(f"/v1/secrets/{name}").status_code == 204
    assert http.get(f"/v1/secrets/{names[0]}").status_code == 404

    # the data directory (store, gateway and Ray logs, traces) and the node actors' logs
    kept = _files_under(zunray.settings.data_dir) + _files_under(_ray_session(zunray) / "logs")
    for value in (db, cert):
        assert not [v for v in views if value in v]
        assert not [p for p in kept if value.encode() in p.read_bytes()]
    # the files went with the container
    assert not _files_under(zunray.settings.secret_files_dir / zunray.settings.instance)


def test_a_zun_container_and_a_function_get_their_secrets_and_show_only_references(zunray):
    http = zunray.http
    value, name = f"v-{uuid.uuid4().hex}", f"api-{uuid.uuid4().hex[:8]}"
    assert http.post("/v1/secrets", json={"name": name, "value": value}).status_code == 201
    refs = [{"secret": name, "env": "API_KEY"}, {"secret": name, "file": "api"}]
    made = http.post(
        "/v1/containers?run=true",
        headers=ZUN_HEADERS,
        json={
            "image": "busybox:latest",
            "command": [
                "sh",
                "-c",
                'echo "$API_KEY" | md5sum; md5sum < /run/secrets/api; sleep 300',
            ],
            "cpu": 0.1,
            "memory": 16,
            "secrets": refs,  # Zunray's extension of Zun's body
        },
    )
    assert made.status_code == 202, made.text
    uuid_ = made.json()["uuid"]
    fn = http.post(
        "/v1/functions",
        json={
            "name": f"f-{name}",
            "image": "busybox:latest",
            "command": ["sh", "-c", "md5sum < /run/secrets/api; echo $API_KEY | md5sum"],
            "secrets": refs,
        },
    )
    assert fn.status_code == 201, fn.text
    try:
        logs = zunray.container_logs_until(uuid_, _md5(value), timeout_s=60)
        assert _md5(f"{value}\n") in logs
        out = http.post(f"/v1/functions/f-{name}/invoke", content=b"")
        assert out.status_code == 200, out.text
        assert out.content.decode().split()[::2] == [_md5(value), _md5(f"{value}\n")]
        views = [
            http.get(f"/v1/containers/{uuid_}", headers=ZUN_HEADERS).json(),
            http.get(f"/v1/functions/f-{name}").json(),
        ]
        assert [v["secrets"] for v in views] == [refs, refs]
        assert not [v for v in views if value in str(v)]
        assert http.delete(f"/v1/secrets/{name}").status_code == 409  # both reference it
    finally:
        http.delete(f"/v1/functions/f-{name}")
        zunray.delete_container(uuid_)
    assert http.delete(f"/v1/secrets/{name}").status_code == 204


def test_capsule_containers_init_ones_too_get_their_secrets(zunray):
    http, capsules = zunray.http, "/v1/capsules/"
    headers = {"OpenStack-API-Version": "container 1.40"}
    value, name = f"cap-{uuid.uuid4().hex}", f"cap-{uuid.uuid4().hex[:8]}"
    assert http.post("/v1/secrets", json={"name": name, "value": value}).status_code == 201
    check = f'[ "$(md5sum < /run/secrets/k | cut -d" " -f1)" = {_md5(value)} ]'
    template = {
        "kind": "capsule",
        "metadata": {"name": name},
        "spec": {
            "initContainers": [
                {
                    "name": "init",
                    "image": "busybox:latest",
                    "command": ["sh", "-c", check],  # the init fails unless the file holds it
                    "secrets": [{"secret": name, "file": "k"}],
                }
            ],
            "containers": [
                {
                    "name": "app",
                    "image": "busybox:latest",
                    "command": ["sh", "-c", 'echo "$K" | md5sum; sleep 600'],
                    "resources": {"requests": {"cpu": 0.1, "memory": 32}},
                    "secrets": [{"secret": name, "env": "K"}],
                }
            ],
        },
    }
    made = http.post(capsules, json={"template": template}, headers=headers)
    assert made.status_code == 202, made.text
    cap = made.json()
    try:
        deadline = time.monotonic() + 60
        while (cap := http.get(f"{capsules}{cap['uuid']}", headers=headers).json())[
            "status"
        ] == "Creating":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert cap["status"] == "Running", cap["status_reason"]
        assert value not in json.dumps(cap)
        assert [c["secrets"] for c in cap["containers"]] == [[{"secret": name, "env": "K"}]]
        [app] = [
            c
            for c in zunray.containers(capsule=cap["uuid"])
            if c.labels["zunray.container"] == "app"
        ]
        deadline = time.monotonic() + 10
        while _md5(f"{value}\n") not in app.logs().decode():
            assert time.monotonic() < deadline, app.logs()
            time.sleep(0.2)
    finally:
        http.delete(f"{capsules}{cap['uuid']}", headers=headers)
    deadline = time.monotonic() + 30
    while http.get(f"{capsules}{cap['uuid']}", headers=headers).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert http.delete(f"/v1/secrets/{name}").status_code == 204
    assert not _files_under(zunray.settings.secret_files_dir / zunray.settings.instance)


def test_an_auto_removed_containers_files_go_with_it(zunray):
    http, name = zunray.http, f"auto-{uuid.uuid4().hex[:8]}"
    assert http.post("/v1/secrets", json={"name": name, "value": "v"}).status_code == 201
    made = http.post(
        "/v1/containers?run=true",
        headers=ZUN_HEADERS,
        json={
            "image": "busybox:latest",
            "command": ["sh", "-c", "cat /run/secrets/k >/dev/null && sleep 1"],
            "cpu": 0.1,
            "memory": 16,
            "auto_remove": True,
            "secrets": [{"secret": name, "file": "k"}],
        },
    )
    assert made.status_code == 202, made.text
    files = zunray.settings.secret_files_dir / zunray.settings.instance
    deadline = time.monotonic() + 60
    while http.get(f"/v1/containers/{made.json()['uuid']}", headers=ZUN_HEADERS).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert not _files_under(files)  # Docker removed it, not Zunray: the files went all the same
    assert http.delete(f"/v1/secrets/{name}").status_code == 204
