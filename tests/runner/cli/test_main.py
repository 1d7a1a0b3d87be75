"""The ``zunray`` command line without a server: help on every argument, the job body
from ``--file`` and flags, how it authenticates, and its exit codes."""

from __future__ import annotations

import argparse
import http.server
import io
import json
import os
import ssl
import threading

import httpx
import pytest

from runner import Client
from runner.cli import connect, jobs as cli_jobs
from runner.cli.jobs import job_body, job_exit_code
from runner.cli.main import build_parser, main
from runner.settings import Settings
from tests.certs import TestCA
from tests.conftest import free_port


@pytest.fixture(autouse=True)
def no_openstack_env(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.startswith("OS_") or k == "ZUNRAY_URL"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "no-clouds.yaml"))


def _parsers(parser: argparse.ArgumentParser, path: str = "zunray"):  # noqa: ANN202
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_argument_of_every_command_has_help():
    missing = [
        f"{path} {a.option_strings or a.dest}"
        for path, p in _parsers(build_parser([]))
        for a in p._actions
        if not isinstance(a, argparse._SubParsersAction) and not a.help
    ]
    assert missing == []


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("zunray 0.")


def _submit_args(*argv: str) -> argparse.Namespace:
    return build_parser(["submit"]).parse_args(["submit", *argv])


def test_flags_override_the_file_and_fill_what_it_leaves_out(tmp_path, monkeypatch):
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "image": "busybox:latest",
                "command": ["true"],
                "env": {"A": "file", "B": "file"},
                "resources": {"memory_mb": 64},
                "labels": {"app": "x"},
                "max_retries": 2,
            }
        )
    )
    body = job_body(
        _submit_args(
            "--file",
            str(spec),
            "-e",
            "A=flag",
            "--env",
            "C=x=y",
            "--workdir",
            "/srv",
            "--cpu",
            "0.25",
        )
    )
    assert body == {
        "image": "busybox:latest",
        "command": ["true"],
        "env": {"A": "flag", "B": "file", "C": "x=y"},
        "workdir": "/srv",
        "resources": {"cpu": 0.25, "memory_mb": 64},
        "labels": {"app": "x"},
        "max_retries": 2,
    }
    assert job_body(_submit_args("--file", str(spec), "alpine:3", "--", "echo", "hi"))[
        "command"
    ] == ["echo", "hi"]
    monkeypatch.setattr("sys.stdin", io.StringIO('{"image": "busybox:latest", "timeout_s": 5}'))
    assert job_body(_submit_args("--file", "-"))["timeout_s"] == 5


@pytest.mark.parametrize(
    "argv, says",
    [
        (["submit", "-e", "NOEQUALS", "busybox:latest"], "expected KEY=VALUE"),
        (["submit", "--file", "/no/such/spec.json"], "--file /no/such/spec.json"),
        (["submit", "--cpu", "1"], "an IMAGE is needed"),
        (["--os-auth-type", "no-such-plugin", "jobs"], "no-such-plugin"),
        (
            ["--os-auth-url", "http://127.0.0.1:9/v3", "jobs"],
            "needs --os-username",
        ),  # named before anything is sent
        (["--os-cloud", "nowhere", "jobs"], "nowhere"),
    ],
    ids=[
        "env-pair",
        "missing-file",
        "no-image",
        "auth-type",
        "missing-auth-options",
        "unknown-cloud",
    ],
)
def test_usage_errors_exit_2_with_the_reason(argv, says, capsys):
    assert main(argv) == connect.EXIT_USAGE
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_an_unreachable_gateway_exits_125_not_a_jobs_code(capsys):
    assert main(["--url", "http://127.0.0.1:9", "jobs"]) == connect.EXIT_ZUNRAY == 125
    assert "zunray jobs:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "job, code",
    [
        ({"status": "Succeeded", "exit_code": 0}, 0),
        ({"status": "Failed", "exit_code": 3}, 3),
        ({"status": "Failed", "exit_code": None}, 1),
        ({"status": "Cancelled", "exit_code": None}, 1),
        ({"status": "TimedOut", "exit_code": 137}, 124),
    ],
    ids=["succeeded", "own-code", "no-code", "cancelled", "timed-out"],
)
def test_submit_exits_with_the_jobs_own_code(job, code):
    assert job_exit_code(job) == code


def _client_of(argv: list[str], settings: Settings | None = None):  # noqa: ANN202
    args = build_parser(argv).parse_args(argv)
    return connect.make_client(args, settings or Settings(gateway_port=9599))


def test_noauth_a_plain_token_or_a_keystone_session(monkeypatch, tmp_path):
    with _client_of(["jobs"]) as zr:
        assert (
            str(zr.http.base_url) == "http://127.0.0.1:9599"
            and "X-Auth-Token" not in zr.http.headers
        )
    monkeypatch.setenv("ZUNRAY_URL", "http://10.0.0.1:1")
    monkeypatch.setenv("OS_TOKEN", "tok")
    with _client_of(["jobs"], Settings()) as zr:
        assert str(zr.http.base_url) == "http://10.0.0.1:1"
        assert zr.http.auth.session.get_auth_headers() == {"X-Auth-Token": "tok"}  # sent as is
    monkeypatch.delenv(
        "OS_TOKEN"
    )  # with $OS_TOKEN the default auth type is token, which takes no user
    argv = [
        "--url",
        "http://z:1",
        "--os-auth-url",
        "http://k:5000/v3",
        "--os-username",
        "alice",
        "--os-password",
        "pw",
        "--os-project-name",
        "p1",
        "--os-user-domain-id",
        "default",
        "--os-project-domain-id",
        "default",
        "jobs",
    ]
    with _client_of(argv) as zr:  # a session: its plugin logs in on the first request
        assert (
            type(zr.http.auth).__name__ == "SessionAuth"
            and zr.http.auth.session.auth.auth_url == "http://k:5000/v3"
        )
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  lab:\n    auth:\n      auth_url: http://k:5000/v3\n      username: bob\n      password: pw\n"
        "      project_name: p2\n      user_domain_id: default\n      project_domain_id: default\n"
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    monkeypatch.setenv("OS_CLOUD", "lab")
    with _client_of(["jobs"]) as zr:
        assert zr.http.auth.session.auth._username == "bob"


@pytest.fixture
def mutual_tls(tmp_path):
    """An HTTPS "gateway" on 127.0.0.1 that takes only clients with a certificate of its CA;
    yields its URL, the CA's client files and the tokens it was sent."""
    ca = TestCA()
    ca.write_server(tmp_path / "server", "127.0.0.1")
    client = ca.write_client(tmp_path / "client")
    tokens: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            tokens.append(self.headers.get("X-Auth-Token"))
            body = json.dumps({"jobs": [], "next": None}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=client / "ca.pem")
    context.load_cert_chain(
        tmp_path / "server" / "server-cert.pem", tmp_path / "server" / "server-key.pem"
    )
    context.verify_mode = ssl.CERT_REQUIRED
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_port}", client, tokens
    finally:
        server.shutdown()
        server.server_close()


def test_a_client_certificate_goes_with_a_token_through_keystoneauths_options(
    mutual_tls, monkeypatch, capsys
):
    url, client, tokens = mutual_tls
    monkeypatch.setenv("OS_TOKEN", "tok")
    argv = ["--url", url, "--os-cacert", str(client / "ca.pem")]
    assert main([*argv, "jobs", "-f", "json"]) == connect.EXIT_ZUNRAY  # no certificate: refused
    assert tokens == []
    monkeypatch.setenv("OS_KEY", str(client / "key.pem"))  # as $OS_CERT/$OS_KEY or the flags
    capsys.readouterr()
    assert main([*argv, "--os-cert", str(client / "cert.pem"), "jobs", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [] and tokens == ["tok"]


def test_why_follow_prints_each_new_answer_until_the_job_is_placed(monkeypatch, capsys):
    answers = [
        ("Queued", "no host fits", {"h1": "2 cpus free, 4 asked"}),
        ("Queued", "no host fits", {"h1": "2 cpus free, 4 asked"}),  # the same: not printed again
        ("Queued", "no host fits", {"h1": "3 cpus free, 4 asked"}),
        ("Placed", "placed on h1", {}),
        ("Placed", "never asked", {}),
    ]
    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        status, summary, reasons = answers[len(asked)]
        asked.append(request.url.path)
        body = {"id": "j1", "status": status, "status_reason": "", "summary": summary}
        return httpx.Response(200, json={**body, "reasons": reasons, "scores": {}})

    def client(args, settings) -> Client:  # noqa: ANN001
        zr = Client("http://zunray.test")
        zr.http = httpx.Client(
            base_url="http://zunray.test", transport=httpx.MockTransport(handler)
        )
        return zr

    monkeypatch.setattr(cli_jobs, "make_client", client)
    monkeypatch.setattr(cli_jobs, "WHY_POLL_S", 0.0)
    assert main(["why", "j1", "-f"]) == 0
    out = capsys.readouterr().out
    assert asked == ["/v1/jobs/j1/why"] * 4  # it stopped once the job left the queue
    assert out.count("2 cpus free") == 1 and "3 cpus free" in out
    assert out.count("\n--- ") == 2 and out.rstrip().endswith("placement now: placed on h1")
    asked.clear()
    assert main(["why", "j1"]) == 0 and len(asked) == 1  # without -f: one answer
