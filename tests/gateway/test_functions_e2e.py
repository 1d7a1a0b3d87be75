"""Functions end to end: HTTP -> function actor -> placement -> node -> Docker,
with the Python shim (zunray/python:3.11) and the command protocol (busybox)."""

from __future__ import annotations

import concurrent.futures
import time

import pytest

pytestmark = pytest.mark.timeout(300)

PY_IMAGE = "zunray/python:3.11"
CODE = """
import os, socket, sys, time

def handle(event, context):
    if event == "raise":
        print("about to fail", file=sys.stderr)
        raise ValueError("bad input")
    if event == "crash":
        os._exit(3)
    if isinstance(event, dict) and "sleep" in event:
        time.sleep(event["sleep"])
    return {"echo": event, "greeting": os.environ.get("GREETING"), "instance": socket.gethostname(), "function": context["function"]}
"""


def _create(zunray, name: str, **body) -> dict:  # noqa: ANN003
    body = {
        "name": name,
        "image": PY_IMAGE,
        "handler": "app:handle",
        "code": CODE,
        "env": {"GREETING": "hi"},
        "timeout_s": 5,
        **body,
    }
    resp = zunray.http.post("/v1/functions", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _instance_ids(zunray, name: str) -> set[str]:
    return {i["id"] for i in _stats(zunray, name)["instance_list"]}


def _containers(zunray, instance_ids: set[str]) -> list[str]:
    """The Docker containers of these instances (the low-level list: no inspect races a removal)."""
    found = zunray.docker.api.containers(
        all=True, filters={"label": f"zunray.instance={zunray.settings.instance}"}
    )
    return [c["Id"] for c in found if c["Labels"].get("zunray.capsule") in instance_ids]


def _stats(zunray, name: str) -> dict:
    return zunray.http.get(f"/v1/functions/{name}").json()["stats"]


def _until(predicate, timeout_s: float = 20.0, what: str = "condition"):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what} not reached in {timeout_s} s"
        time.sleep(0.2)
    return value


@pytest.fixture
def cleanup(zunray):
    names: list[str] = []
    yield names
    for name in names:
        zunray.http.delete(f"/v1/functions/{name}")


def test_python_function_cold_then_warm_and_its_error_keeps_the_instance(zunray, cleanup):
    _create(zunray, "echo")
    cleanup.append("echo")
    first = zunray.http.post("/v1/functions/echo/invoke", json={"n": 1})
    assert first.status_code == 200, first.text
    assert (
        first.json()["echo"] == {"n": 1}
        and first.json()["greeting"] == "hi"
        and first.json()["function"] == "echo"
    )
    second = zunray.http.post("/v1/functions/echo/invoke", json={"n": 2}).json()
    assert second["instance"] == first.json()["instance"]  # the same warm instance served it
    stats = _stats(zunray, "echo")
    assert stats["cold_starts"] == 1 and stats["warm_hits"] >= 1 and stats["instances"] == 1
    assert len(_containers(zunray, _instance_ids(zunray, "echo"))) == 1

    failed = zunray.http.post("/v1/functions/echo/invoke", json="raise")
    assert failed.status_code == 502
    err = failed.json()["errors"][0]
    assert "ValueError: bad input" in err["detail"]
    assert (
        err["function_error"]["type"] == "ValueError"
        and "about to fail" in err["function_error"]["stderr"]
    )
    after = zunray.http.post("/v1/functions/echo/invoke", json={"n": 3}).json()
    assert (
        after["instance"] == first.json()["instance"]
    )  # a handler's exception does not cost the instance


def test_crash_and_timeout_replace_the_instance(zunray, cleanup):
    _create(zunray, "fragile", timeout_s=1)
    cleanup.append("fragile")
    before = zunray.http.post("/v1/functions/fragile/invoke", json=0).json()["instance"]
    crashed = zunray.http.post("/v1/functions/fragile/invoke", json="crash")
    assert crashed.status_code == 502 and "died" in crashed.json()["errors"][0]["detail"]
    again = zunray.http.post("/v1/functions/fragile/invoke", json=0)
    assert again.status_code == 200, again.text
    assert again.json()["instance"] != before  # a new instance replaced the dead one
    stuck = zunray.http.post("/v1/functions/fragile/invoke", json={"sleep": 30})
    assert stuck.status_code == 504 and "timeout of 1 s" in stuck.json()["errors"][0]["detail"]
    last = zunray.http.post("/v1/functions/fragile/invoke", json=0)
    assert last.status_code == 200
    assert last.json()["instance"] != again.json()["instance"]  # the stuck one was replaced too
    assert _stats(zunray, "fragile")["timeouts"] == 1


def test_command_protocol_on_any_image(zunray, cleanup):
    resp = zunray.http.post(
        "/v1/functions",
        json={"name": "upper", "image": "busybox:latest", "command": ["tr", "a-z", "A-Z"]},
    )
    assert resp.status_code == 201, resp.text
    cleanup.append("upper")
    out = zunray.http.post("/v1/functions/upper/invoke", content=b"hello")
    assert out.status_code == 200 and out.content == b"HELLO"
    assert out.headers["content-type"] == "application/octet-stream"
    bad = zunray.http.patch(
        "/v1/functions/upper", json={"command": ["sh", "-c", "echo oops >&2; exit 4"]}
    )
    assert bad.status_code == 200 and bad.json()["version"] == 2
    failed = zunray.http.post("/v1/functions/upper/invoke", content=b"x")
    assert (
        failed.status_code == 502
        and "exited with 4" in failed.text
        and "oops" in failed.json()["errors"][0]["function_error"]["stderr"]
    )


def test_async_invocation_is_recorded_with_its_result(zunray, cleanup):
    _create(zunray, "later")
    cleanup.append("later")
    resp = zunray.http.post("/v1/functions/later/invoke", params={"async": "true"}, json={"job": 7})
    assert resp.status_code == 202
    inv_id = resp.json()["id"]
    done = _until(
        lambda: (
            (b := zunray.http.get(f"/v1/invocations/{inv_id}").json())["status"]
            in ("Succeeded", "Failed")
            and b
        ),
        what="invocation done",
    )
    assert done["status"] == "Succeeded", done
    assert done["result"]["echo"] == {"job": 7}
    other = zunray.http.get(f"/v1/invocations/{inv_id}", headers={"X-Project-Id": "someone-else"})
    assert other.status_code == 404


def test_bad_requests_are_refused_clearly(zunray, cleanup):
    assert zunray.http.post("/v1/functions/nope/invoke", json=1).status_code == 404
    assert (
        zunray.http.post("/v1/functions/nope/invoke", params={"async": "true"}, json=1).status_code
        == 404
    )
    both = zunray.http.post(
        "/v1/functions",
        json={"name": "x", "image": PY_IMAGE, "handler": "a:b", "command": ["true"]},
    )
    assert both.status_code == 400 and "exactly one of handler" in both.text
    assert (
        "min_instances"
        in zunray.http.post(
            "/v1/functions",
            json={
                "name": "x",
                "image": PY_IMAGE,
                "handler": "a:b",
                "min_instances": 3,
                "max_instances": 2,
            },
        ).text
    )
    assert (
        zunray.http.post(
            "/v1/functions", json={"name": "x", "image": PY_IMAGE, "handler": "not a handler"}
        ).status_code
        == 400
    )
    big_code = zunray.http.post(
        "/v1/functions",
        json={"name": "x", "image": PY_IMAGE, "handler": "a:b", "code": "#" * (300 << 10)},
    )
    assert (
        big_code.status_code == 400 and "code" in big_code.json()["errors"][0]["detail"]
    )  # the length cap of runner/caps.py
    _create(zunray, "limits")
    cleanup.append("limits")
    assert (
        zunray.http.post(
            "/v1/functions", json={"name": "limits", "image": PY_IMAGE, "handler": "a:b"}
        ).status_code
        == 409
    )
    too_big = zunray.http.post(
        "/v1/functions/limits/invoke",
        content=b"x" * (zunray.settings.function_payload_max_bytes + 1),
    )
    assert too_big.status_code == 413


def test_broken_handler_fails_with_the_import_error(zunray, cleanup):
    _create(zunray, "broken", code="import no_such_module\n")
    cleanup.append("broken")
    resp = zunray.http.post("/v1/functions/broken/invoke", json=1)
    assert resp.status_code == 502
    assert "no_such_module" in resp.json()["errors"][0]["detail"]


def test_scale_out_to_max_instances_then_to_zero_and_delete_drains(zunray, cleanup):
    _create(zunray, "busy", max_instances=2, idle_ttl_s=2)
    cleanup.append("busy")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda i: zunray.http.post("/v1/functions/busy/invoke", json={"sleep": 1, "i": i}),
                range(4),
            )
        )
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert len({r.json()["instance"] for r in results}) == 2  # two instances shared the four calls
    assert _stats(zunray, "busy")["cold_starts"] == 2
    busy = _instance_ids(zunray, "busy")
    assert len(_containers(zunray, busy)) == 2
    _until(lambda: _stats(zunray, "busy")["instances"] == 0, what="scale to zero")
    _until(lambda: not _containers(zunray, busy), what="containers gone")

    _create(zunray, "warm", min_instances=1)
    cleanup.append("warm")
    _until(lambda: _stats(zunray, "warm")["instances"] == 1, what="min_instances warm")
    warm = _instance_ids(zunray, "warm")
    assert len(_containers(zunray, warm)) == 1
    assert zunray.http.delete("/v1/functions/warm").status_code == 204
    assert zunray.http.post("/v1/functions/warm/invoke", json=1).status_code == 404
    _until(lambda: not _containers(zunray, warm), what="deleted function drained")


def test_the_cli_creates_invokes_and_deletes_a_function(
    zunray, cleanup, monkeypatch, capsys, tmp_path
):
    from runner.cli.main import main as cli_main

    for key, value in zunray.settings.to_env().items():
        monkeypatch.setenv(key, value)
    code = tmp_path / "calc.py"
    code.write_text("def add(event):\n    return event['a'] + event['b']\n")
    assert (
        cli_main(
            [
                "function",
                "create",
                "calc",
                "--image",
                PY_IMAGE,
                "--handler",
                "calc:add",
                "--code-file",
                str(code),
            ]
        )
        == 0
    )
    cleanup.append("calc")
    assert cli_main(["function", "invoke", "calc", '{"a": 2, "b": 3}']) == 0
    assert cli_main(["function", "list"]) == 0
    assert (
        cli_main(["function", "invoke", "nope", "1"]) == 125
    )  # 404 becomes an error message and exit 125 (a Zunray error)
    assert cli_main(["function", "delete", "calc"]) == 0
    out, err = capsys.readouterr()
    assert "function calc version 1 created (shim protocol)" in out
    assert "\n5\n" in out and "calc " in out and "function calc deleted" in out
    assert "not found" in err


def test_patch_keeps_unsent_fields_and_refuses_bad_ones(zunray, cleanup):
    _create(zunray, "patchy", max_instances=3)
    cleanup.append("patchy")
    changed = zunray.http.patch("/v1/functions/patchy", json={"env": {"GREETING": "hello"}})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["max_instances"]) == (2, 3)
    assert (
        zunray.http.post("/v1/functions/patchy/invoke", json=1).json()["greeting"] == "hello"
    )  # the new version serves
    bad = zunray.http.patch("/v1/functions/patchy", json={"min_instances": 5})
    assert bad.status_code == 400 and "min_instances" in bad.json()["errors"][0]["detail"]
    assert zunray.http.patch("/v1/functions/patchy", json={"name": "other"}).status_code == 400
