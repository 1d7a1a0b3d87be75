"""The secrets API and the ``secrets`` field of every kind, without Ray or Docker: bounds (400 naming
the field, 403 past the count), conflicts, and that no answer carries a value."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from gateway.app import access_rules, create_app
from gateway.context import Caller
from gateway.zun.capsule_template import capsule_from_body
from gateway.zun.create import container_from_body
from gateway.zun.microversion import Version
from runner.errors import InvalidSpec
from runner.schemas import JobIn
from runner.secrets import SecretBox
from runner.settings import Settings

CALLER = Caller(project_id="p1", user_id="u1", roles=("member",))


@pytest.fixture
def client(tmp_path, sqlite_store):
    settings = Settings(data_dir=tmp_path, secret_value_max_bytes=16, secrets_per_project=2)
    app = create_app(settings)  # no lifespan (no Ray): what the secrets routes read, set here
    app.state.store, app.state.settings = sqlite_store, settings
    app.state.secrets, app.state.rules = SecretBox(settings), access_rules(None)
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)


def test_bounds_conflicts_and_no_value_in_any_answer(client):
    made = client.post("/v1/secrets", json={"name": "db", "value": "sixteen-bytes-ok"})
    assert made.status_code == 201, made.text
    too_big = client.post("/v1/secrets", json={"name": "big", "value": "x" * 17})
    assert too_big.status_code == 400 and too_big.json()["errors"][0]["detail"].startswith("value")
    for name in ("-leading-dash", "a/b", "x" * 64, ""):
        assert client.post("/v1/secrets", json={"name": name, "value": "v"}).status_code == 400
    assert client.post("/v1/secrets", json={"name": "db", "value": "v"}).status_code == 409
    surrogate = client.post(
        "/v1/secrets",
        content=b'{"name": "s", "value": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 400, surrogate.text
    assert client.post("/v1/secrets", json={"name": "tls", "value": "v"}).status_code == 201
    assert client.post("/v1/secrets", json={"name": "third", "value": "v"}).status_code == 403
    assert client.put("/v1/secrets/nope", json={"value": "v"}).status_code == 404
    other = client.get("/v1/secrets/db", headers={"X-Project-Id": "p2"})
    assert other.status_code == 404
    answers = [
        made.text,
        client.get("/v1/secrets").text,
        client.get("/v1/secrets/db").text,
        client.put("/v1/secrets/db", json={"value": "replaced-value"}).text,
    ]
    assert not [a for a in answers if "sixteen-bytes-ok" in a or "replaced-value" in a]
    assert [s["name"] for s in json.loads(answers[1])["secrets"]] == ["db", "tls"]
    assert client.delete("/v1/secrets/tls").status_code == 204


@pytest.mark.parametrize(
    ("refs", "says"),
    [
        pytest.param([{"secret": "db"}], "one of env or file", id="neither-env-nor-file"),
        pytest.param([{"secret": "db", "env": "A", "file": "a"}], "one of env or file", id="both"),
        pytest.param([{"secret": "db", "file": "../etc/passwd"}], "pattern", id="file-with-path"),
        pytest.param([{"secret": "db", "env": "HOME"}], "also in env", id="env-clash"),
        pytest.param(
            [{"secret": "db", "env": "A"}, {"secret": "tls", "env": "A"}], "twice", id="env-twice"
        ),
        pytest.param([{"secret": "db", "env": "A"}] * 33, "at most 32", id="too-many"),
    ],
)
def test_a_bad_reference_is_refused_naming_it(refs, says):
    with pytest.raises(ValidationError, match=says):
        JobIn(image="busybox:latest", env={"HOME": "/root"}, secrets=refs)


def test_zun_containers_and_capsules_take_references_as_a_zunray_extension():
    body = {"image": "busybox:latest", "secrets": [{"secret": "db", "file": "db"}]}
    c = container_from_body(
        json.dumps(body).encode(),
        caller=CALLER,
        version=Version(1, 1),
        run=True,
        may_mount_host=False,
    )
    assert [r.secret for r in c.capsule.containers[0].secrets] == ["db"]
    with pytest.raises(InvalidSpec) as bad:
        container_from_body(
            json.dumps({**body, "secrets": [{"secret": "db", "env": "1X"}]}).encode(),
            caller=CALLER,
            version=Version(1, 40),
            run=True,
            may_mount_host=False,
        )
    assert bad.value.field == "secrets[0].env"
    with pytest.raises(InvalidSpec, match="runtime vm"):
        container_from_body(
            json.dumps({**body, "runtime": "vm"}).encode(),
            caller=CALLER,
            version=Version(1, 40),
            run=True,
            may_mount_host=False,
        )
    template = {
        "kind": "capsule",
        "metadata": {"name": "c"},
        "spec": {
            "containers": [{"image": "busybox:latest", "secrets": [{"secret": "db", "env": "DB"}]}]
        },
    }
    cap = capsule_from_body({"template": template}, caller=CALLER)
    assert cap.capsule.containers[0].secrets[0].env == "DB"
