"""``zunray secrets ...``: a project's secrets, and the operator's key rotation.

zunray secrets create NAME (--value-file FILE | --value-file - for stdin) | replace NAME ... |
    list | show NAME | delete NAME
zunray secrets rotate-key     (operator: on the gateway's machine, with its settings)

A value is read from a file or stdin, never from the command line (which ``ps`` shows).
"""

from __future__ import annotations

import argparse
import sys

from runner.cli.connect import make_client
from runner.cli.output import add_format_options, print_list, print_one
from runner.secret_rotation import rotate_key
from runner.settings import Settings
from runner.store import Store

SECRET_COLUMNS = ("name", "id", "created_at", "updated_at")


def _value(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def cmd_secrets(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "rotate-key":
        store = Store(settings.store_url_resolved)
        try:
            store.migrate()  # the secrets table of a store no gateway of this version opened yet
            done = rotate_key(store, settings)
        finally:
            store.close()
        where = "the key file" if done.from_file else "secret_key (now drop the old keys from it)"
        print(f"re-sealed {done.resealed} values with the new first key of {where}")
        return 0
    with make_client(args, settings) as zr:
        if args.action == "create":
            print(f"secret {zr.secrets.create(args.name, _value(args.value_file)).name} created")
        elif args.action == "replace":
            print(f"secret {zr.secrets.replace(args.name, _value(args.value_file)).name} replaced")
        elif args.action == "list":
            print_list(args, [s.raw for s in zr.secrets.list()], SECRET_COLUMNS)
        elif args.action == "show":
            print_one(args, zr.secrets.get(args.name).raw)
        elif args.action == "delete":
            zr.secrets.delete(args.name)
            print(f"secret {args.name} deleted")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    sc = sub.add_parser("secrets", help="a project's secrets; rotate-key").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    for action, helptext in (
        ("create", "create a secret from a file or stdin"),
        ("replace", "give a secret a new value (containers created later get it)"),
    ):
        one = sc.add_parser(action, help=helptext)
        one.add_argument("name", help="the secret's name")
        one.add_argument(
            "--value-file", required=True, help="the file holding the value, or - for stdin"
        )
    add_format_options(sc.add_parser("list", help="the project's secrets"), SECRET_COLUMNS)
    show = sc.add_parser("show", help="a secret's metadata (never its value)")
    show.add_argument("name", help="the secret's name")
    add_format_options(show, ["every field"])
    delete = sc.add_parser("delete", help="delete a secret nothing running uses")
    delete.add_argument("name", help="the secret's name")
    sc.add_parser(
        "rotate-key",
        help="operator: a new sealing key, every stored value re-sealed, then the old key dropped",
    )
    for p in sc.choices.values():
        p.set_defaults(fn=cmd_secrets)
