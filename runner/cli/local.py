"""``zunray up | down | status | demo | keystone-register | keystone-local``: the service on this
machine (``runner/local/``) and a Keystone to try authentication with."""

from __future__ import annotations

import argparse
import json

import httpx

from runner.cli.connect import make_client
from runner.cli.jobs import job_exit_code, wait_and_show
from runner.local import stack
from runner.settings import Settings


def cmd_up(settings: Settings, _args: argparse.Namespace) -> int:
    print(f"starting Zunray (data in {settings.data_dir}) ...", flush=True)
    health = stack.up(settings)
    print(f"Zunray is up: {settings.gateway_url}  (stop it with: zunray down)")
    if health["status"] != "ok":
        # with Keystone, only a caller passing host:get_all sees the reasons (anonymous /healthz is just a status)
        reasons = health.get("problems") or [
            "see `zunray status` (with Keystone: $OS_TOKEN of a cloud admin)"
        ]
        print("but it cannot run containers yet:\n  " + "\n  ".join(reasons))
        return 1
    return 0


def cmd_down(settings: Settings, _args: argparse.Namespace) -> int:
    stopped = stack.down(settings)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with make_client(
            args, settings
        ) as zr:  # with a cloud admin's credentials: the per-host report too
            health = zr.health()
    except httpx.HTTPError as exc:
        print(f"Zunray is not reachable: {exc}")
        return 1
    print(json.dumps(health, indent=2))
    return 0 if health.get("status") == "ok" else 1


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    if cmd_up(settings, args) != 0:
        return 1
    script = "echo hello from a Zunray job; echo running on $(uname -n) as $(id -u); for i in 1 2 3; do echo step $i; sleep 0.3; done"
    with make_client(args, settings) as zr:
        resources = {"cpu": 0.5, "memory_mb": 64}
        job = zr.submit(
            "busybox:latest", ["sh", "-c", script], name="demo", resources=resources, timeout_s=60
        )
        print(f"submitted demo job {job.id}")
        done = wait_and_show(zr.http, job.id)
    print(
        f"demo job {done['status']}. Zunray keeps running at {settings.gateway_url}; stop it with: zunray down"
    )
    return job_exit_code(done)


def cmd_keystone_register(settings: Settings, args: argparse.Namespace) -> int:
    """Catalog entry (type container) and the gateway's service user, in an existing Keystone."""
    from runner.local.keystone_admin import KeystoneAdmin

    admin = KeystoneAdmin(
        args.keystone_url,
        username=args.admin_user,
        password=args.admin_password,
        project=args.admin_project,
    )
    admin.service_user(
        name=settings.keystone_service_user,
        password=args.service_password,
        project=settings.keystone_service_project,
    )
    endpoint = args.endpoint or f"{settings.gateway_url}/v1"
    admin.register_service(endpoint=endpoint)
    print(
        f"registered service type 'container' at {endpoint} and service user {settings.keystone_service_user!r}"
    )
    print(
        f"start Zunray with: ZUNRAY_AUTH_MODE=keystone ZUNRAY_KEYSTONE_URL={args.keystone_url} ZUNRAY_KEYSTONE_SERVICE_PASSWORD=... zunray up"
    )
    return 0


def cmd_keystone_local(settings: Settings, args: argparse.Namespace) -> int:
    """A local Keystone (its own venv, SQLite) on 127.0.0.1 for trying authentication."""
    from runner.local import keystone as keystone_local

    home = settings.data_dir / "keystone"
    if args.action == "down":
        print("stopped" if keystone_local.stop(home) else "was not running")
        return 0
    venv = keystone_local.ensure_installed()
    keystone_local.bootstrap(home, port=args.port, admin_password=args.admin_password, venv=venv)
    keystone_local.serve(home, port=args.port, venv=venv)
    print(
        f"Keystone is up: http://127.0.0.1:{args.port}/v3 (admin / {args.admin_password}); stop it with: zunray keystone-local down"
    )
    return 0


def add_keystone_parsers(sub: argparse._SubParsersAction) -> None:
    kr = sub.add_parser(
        "keystone-register",
        help="register Zunray in Keystone's catalog and create its service user",
    )
    kr.add_argument("--keystone-url", required=True, help="e.g. http://127.0.0.1:5000/v3")
    kr.add_argument("--admin-user", default="admin", help="a Keystone admin's name (default admin)")
    kr.add_argument("--admin-password", required=True, help="that admin's password")
    kr.add_argument("--admin-project", default="admin", help="that admin's project (default admin)")
    kr.add_argument(
        "--service-password", required=True, help="password for the gateway's service user"
    )
    kr.add_argument("--endpoint", help="public URL of the Zun API (default: the gateway URL + /v1)")
    kr.set_defaults(fn=cmd_keystone_register)
    kl = sub.add_parser("keystone-local", help="run a local Keystone for trying authentication")
    kl.add_argument("action", choices=["up", "down"], help="start or stop it")
    kl.add_argument("--port", type=int, default=5000, help="its port on 127.0.0.1 (default 5000)")
    kl.add_argument(
        "--admin-password", default="admin", help="the password of its admin user (default admin)"
    )
    kl.set_defaults(fn=cmd_keystone_local)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("up", help="start Ray, the actors and the gateway").set_defaults(fn=cmd_up)
    sub.add_parser("down", help="stop what `up` started").set_defaults(fn=cmd_down)
    sub.add_parser("status", help="health of the service").set_defaults(fn=cmd_status)
    sub.add_parser("demo", help="up, then run a sample job and show it").set_defaults(fn=cmd_demo)
