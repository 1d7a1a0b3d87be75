"""``zunray``: bring the service up and down, submit jobs and follow them.

    zunray up | down | status
    zunray submit [--cpu 0.5] [--memory-mb 128] [--timeout-s 30] IMAGE [-- COMMAND...]
    zunray jobs | show ID | logs ID [-f] | cancel ID | demo
    zunray schedule ... | function ... | usage export ... | top
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
import time

import httpx

from runner.cli import functions as cli_functions, operator as cli_ops
from runner.local import stack
from runner.errors import ZunrayError
from runner.models import JobStatus
from runner.client.http import follow_logs, raise_for_error
from runner.settings import Settings


def _client(settings: Settings) -> httpx.Client:
    """HTTP client of the gateway; with Keystone, the token comes from $OS_TOKEN."""
    headers = {"X-Auth-Token": os.environ["OS_TOKEN"]} if os.environ.get("OS_TOKEN") else {}
    return httpx.Client(base_url=settings.gateway_url, timeout=httpx.Timeout(90.0, connect=5.0), headers=headers)


def _check(resp: httpx.Response) -> dict:
    raise_for_error(resp)
    return resp.json() if resp.content else {}


def _progress(job: dict, started: float) -> str:
    return f"[{time.monotonic() - started:6.1f}s] {job['status']:<9} {job['status_reason']}"


def wait_and_show(client: httpx.Client, job_id: str, *, out=None) -> dict:  # noqa: ANN001
    """Follow a job to its end: each change until it runs, then its output as it comes, then how it ended
    (to ``out``, else the stdout of the moment)."""
    out = out or sys.stdout  # looked up now: a default bound at import keeps a stdout that was since replaced
    started = time.monotonic()
    last = None
    while True:
        job = _check(client.get(f"/v1/jobs/{job_id}", params={"wait_s": 0.5}))
        if (job["status"], job["status_reason"]) != last:
            print(_progress(job, started), file=out, flush=True)
            last = (job["status"], job["status_reason"])
        if job["status"] == "Running" or JobStatus(job["status"]).is_terminal():
            break
    print("--- output ---", file=out, flush=True)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a character may span two chunks
    tail = ""
    for chunk in follow_logs(client, job_id):  # ends once the job ended (a retry's output follows on)
        if text := decoder.decode(chunk):
            out.write(text)
            out.flush()
            tail = text
    if text := decoder.decode(b"", final=True):
        out.write(text)
        tail = text
    if tail and not tail.endswith("\n"):
        out.write("\n")  # how the job ended goes on a line of its own
    job = _check(client.get(f"/v1/jobs/{job_id}"))
    print(_progress(job, started), file=out)
    print(f"exit code: {job['exit_code']}   host: {job['host']}", file=out, flush=True)
    return job


def cmd_up(settings: Settings, _args: argparse.Namespace) -> int:
    print(f"starting Zunray (data in {settings.data_dir}) ...", flush=True)
    health = stack.up(settings)
    print(f"Zunray is up: {settings.gateway_url}  (stop it with: zunray down)")
    if health["status"] != "ok":
        # with Keystone, only a caller passing host:get_all sees the reasons (anonymous /healthz is just a status)
        reasons = health.get("problems") or ["see `zunray status` (with Keystone: $OS_TOKEN of a cloud admin)"]
        print("but it cannot run containers yet:\n  " + "\n  ".join(reasons))
        return 1
    return 0


def cmd_down(settings: Settings, _args: argparse.Namespace) -> int:
    stopped = stack.down(settings)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def cmd_status(settings: Settings, _args: argparse.Namespace) -> int:
    try:
        with _client(settings) as client:  # with $OS_TOKEN of a cloud admin: the per-host report too
            resp = client.get("/healthz", timeout=5)
    except httpx.HTTPError as exc:
        print(f"Zunray is not reachable at {settings.gateway_url}: {exc}")
        return 1
    print(json.dumps(resp.json(), indent=2))
    return 0 if resp.status_code == 200 else 1


def cmd_submit(settings: Settings, args: argparse.Namespace) -> int:
    body = {
        "image": args.image,
        "command": args.command,
        "resources": {"cpu": args.cpu, "memory_mb": args.memory_mb},
        "max_retries": args.max_retries,
    }
    if args.runtime:  # only when asked: naming one is an access rule of its own (job:create:runtime)
        body["runtime"] = args.runtime
    if args.timeout_s:
        body["timeout_s"] = args.timeout_s
    if args.name:
        body["name"] = args.name
    with _client(settings) as client:
        job = _check(client.post("/v1/jobs", json=body))
        print(f"job {job['id']} accepted")
        if args.detach:
            return 0
        job = wait_and_show(client, job["id"])
    return 0 if job["status"] == "Succeeded" else (job["exit_code"] or 1)


def cmd_jobs(settings: Settings, args: argparse.Namespace) -> int:
    with _client(settings) as client:
        data = _check(client.get("/v1/jobs", params={"limit": args.limit}))
    for j in data["jobs"]:
        print(f"{j['id']}  {j['status']:<9} {str(j['exit_code']):>4}  {j['image']:<20} {j['created_at']}")
    return 0


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    with _client(settings) as client:
        print(json.dumps(_check(client.get(f"/v1/jobs/{args.id}")), indent=2))
    return 0


def cmd_logs(settings: Settings, args: argparse.Namespace) -> int:
    with _client(settings) as client:
        if not args.follow:
            resp = client.get(f"/v1/jobs/{args.id}/logs")
            if resp.status_code >= 400:
                _check(resp)
            sys.stdout.buffer.write(resp.content)
            return 0
        for chunk in follow_logs(client, args.id):  # by offset: resumes a dropped connection where it broke off
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
    return 0


def cmd_why(settings: Settings, args: argparse.Namespace) -> int:
    with _client(settings) as client:
        data = _check(client.get(f"/v1/jobs/{args.id}/why"))
    print(f"job {data['id']}: {data['status']} - {data['status_reason']}")
    print(f"placement now: {data['summary']}")
    for host, reason in sorted(data["reasons"].items()):
        print(f"  {host:<30} rejected: {reason}")
    for host, scores in sorted(data["scores"].items()):
        print(f"  {host:<30} fits: " + ", ".join(f"{k} {v:.1f}" for k, v in scores.items()))
    return 0


def cmd_cancel(settings: Settings, args: argparse.Namespace) -> int:
    with _client(settings) as client:
        job = _check(client.post(f"/v1/jobs/{args.id}/cancel"))
    print(f"job {job['id']}: {job['status']} (cancel requested)")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    if cmd_up(settings, args) != 0:
        return 1
    script = "echo hello from a Zunray job; echo running on $(uname -n) as $(id -u); for i in 1 2 3; do echo step $i; sleep 0.3; done"
    body = {"name": "demo", "image": "busybox:latest", "command": ["sh", "-c", script], "resources": {"cpu": 0.5, "memory_mb": 64}, "timeout_s": 60}
    with _client(settings) as client:
        job = _check(client.post("/v1/jobs", json=body))
        print(f"submitted demo job {job['id']}")
        job = wait_and_show(client, job["id"])
    print(f"demo job {job['status']}. Zunray keeps running at {settings.gateway_url}; stop it with: zunray down")
    return 0 if job["status"] == "Succeeded" else 1


def cmd_schedule(settings: Settings, args: argparse.Namespace) -> int:
    """zunray schedule create|list|runs|suspend|resume|delete"""
    with _client(settings) as client:
        if args.action == "create":
            job = {"image": args.image, "command": args.command, "resources": {"cpu": args.cpu, "memory_mb": args.memory_mb}}
            body = {"name": args.name, "cron": args.cron, "time_zone": args.time_zone, "job": job, "concurrency_policy": args.policy}
            if args.starting_deadline_s:
                body["starting_deadline_s"] = args.starting_deadline_s
            s = _check(client.post("/v1/schedules", json=body))
            print(f"schedule {s['id']} created; next run at {s['next_run_at']}")
        elif args.action == "list":
            url = "/v1/schedules"
            while url:  # every page
                page = _check(client.get(url))
                for s in page["schedules"]:
                    state = "suspended" if s["suspend"] else f"next {s['next_run_at']}"
                    print(f"{s['id']}  {s['name']:<20} {s['cron']:<16} {s['time_zone']:<12} {s['concurrency_policy']:<8} {state}")
                url = page["next"]
        elif args.action == "runs":
            for r in _check(client.get(f"/v1/schedules/{args.id}/runs"))["runs"]:
                print(f"{r['scheduled_at']}  {r['outcome']:<8} {r['job_status'] or '':<10} {r['job_id'] or ''}  {r['reason']}")
        elif args.action in ("suspend", "resume"):
            _check(client.patch(f"/v1/schedules/{args.id}", json={"suspend": args.action == "suspend"}))
            print(f"schedule {args.id} {args.action}d")
        elif args.action == "delete":
            _check(client.delete(f"/v1/schedules/{args.id}", params={"purge": args.purge}))
            print(f"schedule {args.id} deleted")
    return 0


def cmd_keystone_register(settings: Settings, args: argparse.Namespace) -> int:
    """Catalog entry (type container) and the gateway's service user, in an existing Keystone."""
    from runner.local.keystone_admin import KeystoneAdmin

    admin = KeystoneAdmin(args.keystone_url, username=args.admin_user, password=args.admin_password, project=args.admin_project)
    admin.service_user(name=settings.keystone_service_user, password=args.service_password, project=settings.keystone_service_project)
    endpoint = args.endpoint or f"{settings.gateway_url}/v1"
    admin.register_service(endpoint=endpoint)
    print(f"registered service type 'container' at {endpoint} and service user {settings.keystone_service_user!r}")
    print(f"start Zunray with: ZUNRAY_AUTH_MODE=keystone ZUNRAY_KEYSTONE_URL={args.keystone_url} ZUNRAY_KEYSTONE_SERVICE_PASSWORD=... zunray up")
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
    print(f"Keystone is up: http://127.0.0.1:{args.port}/v3 (admin / {args.admin_password}); stop it with: zunray keystone-local down")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zunray", description="Zunray: containers, jobs and functions on Ray")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("up", help="start Ray, the actors and the gateway").set_defaults(fn=cmd_up)
    sub.add_parser("down", help="stop what `up` started").set_defaults(fn=cmd_down)
    sub.add_parser("status", help="health of the service").set_defaults(fn=cmd_status)
    sub.add_parser("demo", help="up, then run a sample job and show it").set_defaults(fn=cmd_demo)
    s = sub.add_parser("submit", help="submit a job and follow it")
    s.add_argument("image")
    s.add_argument("command", nargs="*")
    s.add_argument("--cpu", type=float, default=0.5)
    s.add_argument("--memory-mb", type=int, default=256)
    s.add_argument("--timeout-s", type=float)
    s.add_argument("--max-retries", type=int, default=0)
    s.add_argument("--runtime", choices=["runc", "runsc", "vm", "nova"], help="runc unless given (naming one needs the job:create:runtime rule)")
    s.add_argument("--name")
    s.add_argument("-d", "--detach", action="store_true", help="print the id and return")
    s.set_defaults(fn=cmd_submit)
    j = sub.add_parser("jobs", help="list jobs")
    j.add_argument("--limit", type=int, default=20)
    j.set_defaults(fn=cmd_jobs)
    for name, fn, helptext in (("show", cmd_show, "a job as JSON"), ("cancel", cmd_cancel, "cancel a job"), ("why", cmd_why, "why a job waits: per-host reasons and scores")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("id")
        c.set_defaults(fn=fn)
    sc = sub.add_parser("schedule", help="cron schedules that create jobs").add_subparsers(dest="action", required=True)
    create = sc.add_parser("create", help="create a schedule: zunray schedule create --name N --cron C IMAGE [COMMAND...]")
    create.add_argument("image")
    create.add_argument("command", nargs="*")
    create.add_argument("--name", required=True)
    create.add_argument("--cron", required=True, help="5 fields, or 6 with seconds first")
    create.add_argument("--time-zone", default="UTC")
    create.add_argument("--policy", choices=["Allow", "Forbid", "Replace"], default="Allow")
    create.add_argument("--starting-deadline-s", type=float)
    create.add_argument("--cpu", type=float, default=0.5)
    create.add_argument("--memory-mb", type=int, default=256)
    create.set_defaults(fn=cmd_schedule)
    sc.add_parser("list", help="list schedules").set_defaults(fn=cmd_schedule)
    for action, helptext in (("runs", "each fire time and what became of it"), ("suspend", "stop firing"), ("resume", "fire again"), ("delete", "delete a schedule")):
        one = sc.add_parser(action, help=helptext)
        one.add_argument("id")
        if action == "delete":
            one.add_argument("--purge", action="store_true", help="also remove the run records")
        one.set_defaults(fn=cmd_schedule)
    kr = sub.add_parser("keystone-register", help="register Zunray in Keystone's catalog and create its service user")
    kr.add_argument("--keystone-url", required=True, help="e.g. http://127.0.0.1:5000/v3")
    kr.add_argument("--admin-user", default="admin")
    kr.add_argument("--admin-password", required=True)
    kr.add_argument("--admin-project", default="admin")
    kr.add_argument("--service-password", required=True, help="password for the gateway's service user")
    kr.add_argument("--endpoint", help="public URL of the Zun API (default: the gateway URL + /v1)")
    kr.set_defaults(fn=cmd_keystone_register)
    kl = sub.add_parser("keystone-local", help="run a local Keystone for trying authentication")
    kl.add_argument("action", choices=["up", "down"])
    kl.add_argument("--port", type=int, default=5000)
    kl.add_argument("--admin-password", default="admin")
    kl.set_defaults(fn=cmd_keystone_local)
    cli_functions.add_parser(sub)
    cli_ops.add_parsers(sub)
    lg = sub.add_parser("logs", help="a job's output")
    lg.add_argument("id")
    lg.add_argument("-f", "--follow", action="store_true")
    lg.set_defaults(fn=cmd_logs)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError: a bad ZUNRAY_* value, named
        print(f"zunray: bad configuration: {exc}", file=sys.stderr)
        return 2
    try:
        return args.fn(settings, args)
    except (ZunrayError, httpx.HTTPError) as exc:
        print(f"zunray {args.cmd}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
