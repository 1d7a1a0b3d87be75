"""``zunray function ...``: create, list, show, invoke and delete functions.

zunray function create NAME --image zunray/python:3.11 --handler app:handle --code-file app.py
zunray function create NAME --image busybox:latest -- tr a-z A-Z
zunray function invoke NAME '{"n": 1}'   |   zunray function invoke NAME --async '1'
zunray function list [-f json] [-c name] | show NAME | delete NAME
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from runner.cli.connect import make_client
from runner.cli.output import add_format_options, print_list, print_one
from runner.settings import Settings

FUNCTION_COLUMNS = ("name", "version", "protocol", "image", "min_instances", "max_instances")


def cmd_function(settings: Settings, args: argparse.Namespace) -> int:
    with make_client(args, settings) as zr:
        if args.action == "create":
            fields = {
                "min_instances": args.min_instances,
                "max_instances": args.max_instances,
                "timeout_s": args.timeout_s,
                "concurrency": args.concurrency,
            }
            fields["resources"] = {"cpu": args.cpu, "memory_mb": args.memory_mb}
            if args.command:
                fields["command"] = args.command
            else:
                fields["handler"] = args.handler
                if args.code_file:
                    fields["code"] = Path(args.code_file).read_text()
            fn = zr.functions.create(args.name, args.image, **fields)
            print(f"function {fn.name} version {fn.version} created ({fn.protocol} protocol)")
        elif args.action == "list":
            print_list(args, [fn.raw for fn in zr.functions.list()], FUNCTION_COLUMNS)
        elif args.action == "show":
            print_one(args, zr.functions.get(args.name).raw)
        elif args.action == "invoke":
            payload = json.loads(args.payload) if args.payload else None
            if args.run_async:
                print(zr.functions.invoke_async(args.name, payload))
            else:
                result = zr.functions.invoke(args.name, payload)
                if isinstance(result, bytes):
                    sys.stdout.buffer.write(result)
                else:
                    print(json.dumps(result))
        elif args.action == "delete":
            zr.functions.delete(args.name)
            print(f"function {args.name} deleted")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    fp = sub.add_parser("function", help="serverless functions with warm instances")
    fp = fp.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = fp.add_parser(
        "create", help="create a function (a handler for the Python shim, or a command after --)"
    )
    create.add_argument("name", help="the function's name, unique in the project")
    create.add_argument(
        "command", nargs="*", help="command protocol: payload on stdin, result from stdout"
    )
    create.add_argument("--image", required=True, help="the image its instances run")
    create.add_argument("--handler", default="handler:handle", help="module:function (Python shim)")
    create.add_argument("--code-file", help="the handler module's source, sent inline")
    create.add_argument("--cpu", type=float, default=0.5, help="cores per instance (default 0.5)")
    create.add_argument(
        "--memory-mb", type=int, default=128, help="memory limit per instance in MB (default 128)"
    )
    create.add_argument(
        "--timeout-s", type=float, default=30.0, help="seconds an invocation may take (default 30)"
    )
    create.add_argument(
        "--concurrency", type=int, default=1, help="invocations at once per instance (default 1)"
    )
    create.add_argument(
        "--min-instances", type=int, default=0, help="instances kept warm (default 0)"
    )
    create.add_argument(
        "--max-instances", type=int, default=10, help="instances at most (default 10)"
    )
    add_format_options(fp.add_parser("list", help="list functions (every page)"), FUNCTION_COLUMNS)
    show = fp.add_parser("show", help="a function and its live stats: every field, or the -c ones")
    show.add_argument("name", help="the function's name")
    add_format_options(show, ["every field"])
    fp.add_parser("delete", help="delete and drain a function").add_argument(
        "name", help="the function's name"
    )
    inv = fp.add_parser("invoke", help="call a function with a JSON payload")
    inv.add_argument("name", help="the function's name")
    inv.add_argument("payload", nargs="?", help="the payload, as JSON")
    inv.add_argument(
        "--async", dest="run_async", action="store_true", help="queue it; prints the invocation id"
    )
    for p in fp.choices.values():
        p.set_defaults(fn=cmd_function)
