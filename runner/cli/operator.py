"""``zunray usage list|export`` and ``zunray top``: the operator's commands.

zunray usage list [--start 2026-11-01] [--end 2026-12-01] [--project-id P | --all-projects] [-f json] [-c kind]
zunray usage export --out usage.parquet [the same range and project options]
zunray top [--once] [--interval-s 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from runner.cli.connect import make_client
from runner.cli.output import UsageError, add_format_options, print_list
from runner.client.responses import raise_for_error
from runner.errors import ZunrayError
from runner.settings import Settings

FORMAT_OF_SUFFIX = {".parquet": "parquet", ".arrow": "arrow", ".json": "json"}
USAGE_COLUMNS = (
    "kind",
    "name",
    "host",
    "status",
    "started_at",
    "ended_at",
    "wall_s",
    "cpu_s",
    "memory_mb_s",
    "invocations",
)


def usage_row(record: dict) -> dict:
    """A record as a person reads it: UTC times (the API's are epoch seconds), seconds to the ms."""
    row = dict(record)
    for key in ("started_at", "ended_at"):
        row[key] = datetime.fromtimestamp(record[key], timezone.utc).isoformat(timespec="seconds")
    for key in ("wall_s", "cpu_s", "memory_mb_s"):
        row[key] = round(record[key], 3)
    return row


def cmd_usage_list(settings: Settings, args: argparse.Namespace) -> int:
    with make_client(args, settings) as zr:
        records = zr.usage.list(
            start=args.start,
            end=args.end,
            project_id=args.project_id,
            all_projects=args.all_projects,
        )
    print_list(args, [usage_row(r.raw) for r in records], USAGE_COLUMNS)
    return 0


def cmd_usage(settings: Settings, args: argparse.Namespace) -> int:
    out = Path(args.out)
    fmt = FORMAT_OF_SUFFIX.get(out.suffix)
    if fmt is None:
        raise UsageError(f"--out must end in one of {sorted(FORMAT_OF_SUFFIX)}")
    with make_client(args, settings) as zr:
        data = zr.usage.export(
            fmt,
            start=args.start,
            end=args.end,
            project_id=args.project_id,
            all_projects=args.all_projects,
        )
    out.write_bytes(data)
    print(f"wrote {len(data)} bytes to {out}")
    return 0


def render_top(hosts: list[dict], jobs: list[dict], functions: list[dict], width: int = 100) -> str:
    """One screen: hosts with allocation bars, then what waits and runs."""

    def bar(used: float, total: float, size: int = 20) -> str:
        filled = 0 if total <= 0 else min(size, round(size * used / total))
        return "[" + "#" * filled + "." * (size - filled) + "]"

    lines = [
        f"zunray top — {time.strftime('%H:%M:%S')}",
        "",
        f"{'HOST':<28} {'UP':<4} {'CPU':<30} {'MEMORY':<34} PINNED",
    ]
    for h in hosts:
        cpu = f"{bar(h['cpu_used'], h['cpus'])} {h['cpu_used']:.1f}/{h['cpus']:g}"
        mem = f"{bar(h['memory_used_mb'], h['memory_mb'])} {h['memory_used_mb'] / 1024:.1f}/{h['memory_mb'] / 1024:.1f}G"
        state = "yes" if h["up"] and h.get("enabled", True) else ("off" if h["up"] else "no")
        lines.append(
            f"{h['name'][:28]:<28} {state:<4} {cpu:<30} {mem:<34} {','.join(map(str, h.get('pinned_cpus', []))) or '-'}"
        )
    by_status: dict[str, int] = {}
    for j in jobs:
        by_status[j["status"]] = by_status.get(j["status"], 0) + 1
    lines += [
        "",
        "JOBS  " + "  ".join(f"{s}: {n}" for s, n in sorted(by_status.items()))
        if by_status
        else "JOBS  none",
    ]
    for j in [j for j in jobs if j["status"] == "Queued"][:5]:
        lines.append(
            f"  queued {j['id'][:8]} {j['name'][:20]:<20} {j['status_reason'][: width - 40]}"
        )
    lines += ["", f"{'FUNCTION':<24} {'VER':<4} INSTANCES  BUSY  QUEUE  COLD  WARM"]
    for f in functions:
        s = f.get("stats") or {}
        lines.append(
            f"{f['name'][:24]:<24} {f['version']:<4} {s.get('instances', 0):<10} {s.get('busy', 0):<5} {s.get('queue_length', 0):<6} {s.get('cold_starts', 0):<5} {s.get('warm_hits', 0)}"
        )
    return "\n".join(lines)


def cmd_top(settings: Settings, args: argparse.Namespace) -> int:
    with make_client(args, settings) as zr:
        while True:
            try:
                hosts = zr.http.get("/v1/cluster/hosts")  # an operator's view: not in the SDK
                raise_for_error(hosts)
                jobs = [j.raw for j in zr.jobs(limit=200)]
                functions = [zr.functions.get(f.name).raw for f in zr.functions.list()[:20]]
                screen = render_top(hosts.json()["hosts"], jobs, functions)
            except (ZunrayError, httpx.HTTPError) as exc:
                screen = f"zunray top: {exc}"
            if args.once:
                print(screen)
                return 0
            sys.stdout.write("\x1b[2J\x1b[H" + screen + "\n")
            sys.stdout.flush()
            time.sleep(args.interval_s)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    usage = sub.add_parser("usage", help="usage records for billing")
    usage = usage.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = usage.add_parser(
        "list", help="usage records that ended in a range, in the order they ended"
    )
    add_format_options(listing, USAGE_COLUMNS)
    listing.set_defaults(fn=cmd_usage_list)
    exp = usage.add_parser("export", help="write usage records to a .parquet, .arrow or .json file")
    exp.add_argument("--out", required=True, help="the file to write; its suffix picks the format")
    exp.set_defaults(fn=cmd_usage)
    for one in (listing, exp):
        one.add_argument("--start", help="ISO 8601 or epoch seconds (default: a day before --end)")
        one.add_argument("--end", help="ISO 8601 or epoch seconds (default: now)")
        one.add_argument("--project-id", help="another project's records (admins)")
        one.add_argument(
            "--all-projects",
            action="store_true",
            help="every project's records (rule usage:get_all)",
        )
    top = sub.add_parser("top", help="a live view of hosts, queues and functions")
    top.add_argument("--once", action="store_true", help="print one screen and exit")
    top.add_argument(
        "--interval-s", type=float, default=2.0, help="seconds between screens (default 2)"
    )
    top.set_defaults(fn=cmd_top)
