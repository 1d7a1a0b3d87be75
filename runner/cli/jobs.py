"""``zunray submit | jobs | show | logs | why | cancel | delete``: a job, from its body to how it ended.

``wait_and_show`` and ``job_exit_code`` are shared with ``zunray demo`` (``local.py``).
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
import time
from pathlib import Path

import httpx

from runner.cli import connect
from runner.cli.connect import make_client
from runner.cli.output import UsageError, add_format_options, print_list, print_one
from runner.client.resources import Placement
from runner.client.responses import follow_logs, raise_for_error
from runner.models import JobStatus
from runner.settings import Settings

JOB_COLUMNS = ("id", "name", "status", "exit_code", "image", "created_at")
WHY_POLL_S = 1.0  # how often ``why -f`` asks placement again


def _check(resp: httpx.Response) -> dict:
    raise_for_error(resp)
    return resp.json() if resp.content else {}


def _progress(job: dict, started: float) -> str:
    return f"[{time.monotonic() - started:6.1f}s] {job['status']:<9} {job['status_reason']}"


def show_until_running(
    client: httpx.Client,
    job_id: str,
    *,
    out,  # noqa: ANN001
    started: float,
    show_end: bool = True,
) -> tuple[str, str]:
    """Print each change of a job's status or reason until it runs or ended (that last one too
    with ``show_end``); returns the last one printed."""
    last, wait_s = ("", ""), 0.0  # the first look at once: a running job's output waits on it
    while True:
        job = _check(client.get(f"/v1/jobs/{job_id}", params={"wait_s": wait_s}))
        wait_s = 0.5
        ended = job["status"] == "Running" or JobStatus(job["status"]).is_terminal()
        if (job["status"], job["status_reason"]) != last and (show_end or not ended):
            print(_progress(job, started), file=out, flush=True)
            last = (job["status"], job["status_reason"])
        if ended:
            return last


def wait_and_show(client: httpx.Client, job_id: str, *, out=None) -> dict:  # noqa: ANN001
    """Follow a job to its end: each change until it runs (a Starting job's reason says how far its
    image pull or VM boot got), then its output as it comes, then how it ended (to ``out``, else the
    stdout of the moment)."""
    out = (
        out or sys.stdout
    )  # looked up now: a default bound at import keeps a stdout that was since replaced
    started = time.monotonic()
    last = show_until_running(client, job_id, out=out, started=started)
    print("--- output ---", file=out, flush=True)
    decoder = codecs.getincrementaldecoder("utf-8")(
        errors="replace"
    )  # a character may span two chunks
    tail = ""
    for chunk in follow_logs(
        client, job_id
    ):  # ends once the job ended (a retry's output follows on)
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
    if (job["status"], job["status_reason"]) != last:  # not shown yet
        print(_progress(job, started), file=out)
    print(f"exit code: {job['exit_code']}   host: {job['host']}", file=out, flush=True)
    return job


def job_exit_code(job: dict) -> int:
    """What ``submit`` exits with once the job ended: its own exit code, else what ended it."""
    if job["status"] == JobStatus.SUCCEEDED.value:
        return 0
    if job["status"] == JobStatus.TIMED_OUT.value:
        return connect.EXIT_JOB_TIMED_OUT
    return job["exit_code"] or connect.EXIT_JOB_FAILED


def _env_pairs(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UsageError(f"-e {pair!r}: expected KEY=VALUE")
        env[key] = value
    return env


def job_body(args: argparse.Namespace) -> dict:
    """The POST /v1/jobs body: ``--file`` (JSON, ``-`` for stdin), then the flags given over it."""
    body: dict = {}
    if args.file:
        try:
            body = json.loads(sys.stdin.read() if args.file == "-" else Path(args.file).read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"--file {args.file}: {exc}") from None
        if not isinstance(body, dict):
            raise UsageError(
                f"--file {args.file}: expected a JSON object (the body of POST /v1/jobs)"
            )
    flags = {
        "image": args.image,
        "name": args.name,
        "workdir": args.workdir,
        "runtime": args.runtime,
        "timeout_s": args.timeout_s,
        "max_retries": args.max_retries,
    }
    body.update({k: v for k, v in flags.items() if v is not None})
    if args.command:
        body["command"] = args.command
    if args.env:
        body["env"] = {**body.get("env", {}), **_env_pairs(args.env)}
    resources = {
        "cpu": 0.5,
        "memory_mb": 256,
        **body.get("resources", {}),
    }  # smaller than the API's defaults
    resources.update(
        {k: v for k, v in (("cpu", args.cpu), ("memory_mb", args.memory_mb)) if v is not None}
    )
    body["resources"] = resources
    if not body.get("image"):
        raise UsageError('an IMAGE is needed (as an argument, or "image" in --file)')
    return body


def cmd_submit(settings: Settings, args: argparse.Namespace) -> int:
    body = job_body(args)
    with make_client(args, settings) as zr:
        job = zr.submit(**body)
        print(f"job {job.id} accepted")
        if args.detach:
            return 0
        try:
            done = wait_and_show(zr.http, job.id)
        except KeyboardInterrupt:
            print(f"\njob {job.id} keeps running (zunray cancel {job.id})", file=sys.stderr)
            raise
    return job_exit_code(done)


def cmd_jobs(settings: Settings, args: argparse.Namespace) -> int:
    with make_client(args, settings) as zr:
        jobs = zr.jobs(status=args.status, limit=args.limit, marker=args.marker)
    print_list(args, [j.raw for j in jobs], JOB_COLUMNS)
    return 0


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    with make_client(args, settings) as zr:
        print_one(args, zr.job(args.id).raw)
    return 0


def cmd_logs(settings: Settings, args: argparse.Namespace) -> int:
    with make_client(args, settings) as zr:
        if not args.follow:
            sys.stdout.buffer.write(zr.logs(args.id))
            return 0
        # how its start goes (an image pull, a VM boot) on stderr: stdout is the job's output alone
        show_until_running(
            zr.http, args.id, out=sys.stderr, started=time.monotonic(), show_end=False
        )
        for chunk in zr.follow_logs(
            args.id
        ):  # by offset: resumes a dropped connection where it broke off
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
    return 0


def _why_lines(why: Placement) -> list[str]:
    lines = [
        f"job {why.id}: {why.status.value} - {why.status_reason}",
        f"placement now: {why.summary}",
    ]
    for host, reason in sorted(why.reasons.items()):
        lines.append(f"  {host:<30} rejected: {reason}")
    for host, scores in sorted(why.scores.items()):
        lines.append(f"  {host:<30} fits: " + ", ".join(f"{k} {v:.1f}" for k, v in scores.items()))
    return lines


def cmd_why(settings: Settings, args: argparse.Namespace) -> int:
    """Placement's answer for the job; with ``-f``, each new answer until the job left the queue."""
    shown: list[str] | None = None
    with make_client(args, settings) as zr:
        while True:
            why = zr.why(args.id)
            lines = _why_lines(why)
            if lines != shown:
                if shown is not None:
                    print(f"--- {time.strftime('%H:%M:%S')} ---")
                print("\n".join(lines), flush=True)
                shown = lines
            if not args.follow or why.status is not JobStatus.QUEUED:
                return 0
            time.sleep(WHY_POLL_S)


def cmd_cancel(settings: Settings, args: argparse.Namespace) -> int:
    with make_client(args, settings) as zr:
        job = zr.cancel(args.id)
    print(f"job {job.id}: {job.status.value} (cancel requested)")
    return 0


def cmd_delete(settings: Settings, args: argparse.Namespace) -> int:
    with make_client(args, settings) as zr:
        zr.delete_job(args.id)
    print(f"job {args.id} deleted")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "submit",
        help="submit a job and follow it: its progress, its output as it comes, how it ended",
    )
    s.add_argument(
        "image", nargs="?", help='the image to run, e.g. busybox:latest (or "image" in --file)'
    )
    s.add_argument(
        "command", nargs="*", help="the command and its arguments (after --); default: the image's"
    )
    s.add_argument(
        "--file",
        metavar="SPEC",
        help="a JSON job spec (any field of POST /v1/jobs; - reads stdin); flags given override it",
    )
    s.add_argument(
        "-e",
        "--env",
        action="append",
        metavar="KEY=VALUE",
        help="an environment variable (repeatable)",
    )
    s.add_argument("--workdir", help="the working directory inside the container")
    s.add_argument("--cpu", type=float, help="cores, fractions allowed (default 0.5)")
    s.add_argument("--memory-mb", type=int, help="hard memory limit in MB (default 256)")
    s.add_argument(
        "--timeout-s", type=float, help="seconds per attempt before the job is killed (TimedOut)"
    )
    s.add_argument("--max-retries", type=int, help="attempts after a failed one (default 0)")
    s.add_argument(
        "--runtime",
        choices=["runc", "runsc", "vm", "nova"],
        help="runc unless given (naming one needs the job:create:runtime rule)",
    )
    s.add_argument("--name", help="a name to find the job by")
    s.add_argument(
        "-d",
        "--detach",
        action="store_true",
        help="print the id and return instead of following the job",
    )
    s.set_defaults(fn=cmd_submit)
    j = sub.add_parser(
        "jobs", aliases=["list"], help="list the project's jobs, newest first (every page)"
    )
    j.add_argument(
        "--status",
        action="append",
        choices=[s.value for s in JobStatus],
        help="only jobs in this status (repeatable)",
    )
    j.add_argument("--limit", type=int, help="the newest N only (default: all)")
    j.add_argument(
        "--marker", metavar="JOB_ID", help="start after this job (the last id of a previous page)"
    )
    add_format_options(j, JOB_COLUMNS)
    j.set_defaults(fn=cmd_jobs)
    show = sub.add_parser("show", help="a job: every field, or the -c ones")
    show.add_argument("id", help="the job's id")
    add_format_options(show, ["every field"])
    show.set_defaults(fn=cmd_show)
    for name, fn, helptext in (
        ("cancel", cmd_cancel, "cancel a job (a running one is killed)"),
        ("why", cmd_why, "why a job waits: per-host reasons and scores"),
        ("delete", cmd_delete, "delete an ended job and its logs"),
    ):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("id", help="the job's id")
        c.set_defaults(fn=fn)
        if name == "why":
            c.add_argument(
                "-f",
                "--follow",
                action="store_true",
                help="print each new answer until the job is placed or ended",
            )
    lg = sub.add_parser("logs", help="a job's output (stdout and stderr)")
    lg.add_argument("id", help="the job's id")
    lg.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="stream the output until the job ends (until it runs: its progress on stderr)",
    )
    lg.set_defaults(fn=cmd_logs)
