"""``zunray schedule ...``: cron schedules that create jobs.

zunray schedule create --name N --cron "30 2 * * *" [--time-zone Europe/Paris] IMAGE [COMMAND...]
zunray schedule list | show ID | runs ID | suspend ID | resume ID | delete ID [--purge]
"""

from __future__ import annotations

import argparse

from runner.cli.connect import make_client
from runner.cli.output import add_format_options, print_list, print_one
from runner.settings import Settings

SCHEDULE_COLUMNS = (
    "id",
    "name",
    "cron",
    "time_zone",
    "concurrency_policy",
    "suspend",
    "next_run_at",
)
RUN_COLUMNS = ("scheduled_at", "outcome", "job_status", "job_id", "reason")


def cmd_schedule(settings: Settings, args: argparse.Namespace) -> int:
    with make_client(args, settings) as zr:
        if args.action == "create":
            job = {
                "image": args.image,
                "command": args.command,
                "resources": {"cpu": args.cpu, "memory_mb": args.memory_mb},
            }
            fields = {"time_zone": args.time_zone, "concurrency_policy": args.policy}
            if args.starting_deadline_s:
                fields["starting_deadline_s"] = args.starting_deadline_s
            s = zr.schedules.create(args.name, args.cron, job, **fields)
            print(f"schedule {s.id} created; next run at {s.raw['next_run_at']}")
        elif args.action == "list":
            print_list(args, [s.raw for s in zr.schedules.list()], SCHEDULE_COLUMNS)
        elif args.action == "show":
            print_one(args, zr.schedules.get(args.id).raw)
        elif args.action == "runs":
            print_list(args, [r.raw for r in zr.schedules.runs(args.id)], RUN_COLUMNS)
        elif args.action in ("suspend", "resume"):
            zr.schedules.update(args.id, suspend=args.action == "suspend")
            print(f"schedule {args.id} {'suspended' if args.action == 'suspend' else 'resumed'}")
        elif args.action == "delete":
            zr.schedules.delete(args.id, purge=args.purge)
            print(f"schedule {args.id} deleted")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    sc = sub.add_parser("schedule", help="cron schedules that create jobs").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = sc.add_parser(
        "create",
        help="create a schedule: zunray schedule create --name N --cron C IMAGE [COMMAND...]",
    )
    create.add_argument("image", help="the image of the jobs it creates")
    create.add_argument("command", nargs="*", help="their command and arguments")
    create.add_argument("--name", required=True, help="the schedule's name, unique in the project")
    create.add_argument("--cron", required=True, help="5 fields, or 6 with seconds first")
    create.add_argument(
        "--time-zone", default="UTC", help="the zone the cron is read in (default UTC)"
    )
    create.add_argument(
        "--policy",
        choices=["Allow", "Forbid", "Replace"],
        default="Allow",
        help="when the previous job still runs (default Allow)",
    )
    create.add_argument(
        "--starting-deadline-s", type=float, help="a fire time later than this is Missed"
    )
    create.add_argument("--cpu", type=float, default=0.5, help="cores per job (default 0.5)")
    create.add_argument(
        "--memory-mb", type=int, default=256, help="memory limit per job in MB (default 256)"
    )
    listing = sc.add_parser("list", help="list schedules (every page)")
    add_format_options(listing, SCHEDULE_COLUMNS)
    for action, helptext in (
        ("show", "a schedule: every field, or the -c ones"),
        ("runs", "each fire time and what became of it"),
        ("suspend", "stop firing"),
        ("resume", "fire again"),
        ("delete", "delete a schedule"),
    ):
        one = sc.add_parser(action, help=helptext)
        one.add_argument("id", help="the schedule's id or name")
        if action == "delete":
            one.add_argument("--purge", action="store_true", help="also remove the run records")
        if action in ("show", "runs"):
            add_format_options(one, RUN_COLUMNS if action == "runs" else ["every field"])
    for p in sc.choices.values():
        p.set_defaults(fn=cmd_schedule)
