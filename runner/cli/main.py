"""``zunray``: bring the service up and down, submit jobs and follow them.

    zunray up | down | status | demo
    zunray submit [-e K=V] [--workdir DIR] [--file spec.json|-] [--cpu 0.5] [--memory-mb 128] IMAGE [-- COMMAND...]
    zunray jobs [--status S] [--limit N] [-f json] [-c id] | show ID | logs ID [-f] | why ID [-f] | cancel ID | delete ID
    zunray schedule ... | function ... | secrets ... | usage list|export ... | top

Exit codes (``connect.py``): 0 done; a followed job's own exit code (``submit``, ``demo``); 1 the
job ended without one (Cancelled, or it could not start); 124 it timed out; 2 a usage or
configuration error; 125 Zunray answered with an error or could not be reached; 130 Ctrl-C.

This module builds the command line and maps errors to exit codes; the commands live in
``local.py`` (the service on this machine, Keystone), ``jobs.py``, ``schedules.py``,
``functions.py``, ``secrets.py`` (and the operator's rotate-key) and ``operator.py`` (usage
list and export, top).
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata

import httpx

from runner.cli import (
    connect,
    functions as cli_functions,
    jobs as cli_jobs,
    local as cli_local,
    operator as cli_ops,
    schedules as cli_schedules,
    secrets as cli_secrets,
)
from runner.cli.connect import EXIT_INTERRUPTED, EXIT_USAGE, EXIT_ZUNRAY
from runner.cli.output import UsageError
from runner.errors import ZunrayError
from runner.settings import Settings


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; ``argv`` tells keystoneauth1 which auth type's options to offer."""
    epilog = (
        "exit codes: 0 done, a followed job's own exit code, 1 the job ended without one, 124 it timed out, "
        "2 usage or configuration error, 125 Zunray error or unreachable, 130 interrupted"
    )
    p = argparse.ArgumentParser(
        prog="zunray", description="Zunray: containers, jobs and functions on Ray", epilog=epilog
    )
    p.add_argument(
        "--version",
        action="version",
        version=f"zunray {metadata.version('zunray')}",
        help="print the version and exit",
    )
    connect.add_connection_options(p, sys.argv[1:] if argv is None else argv)
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    cli_local.add_parsers(sub)
    cli_jobs.add_parsers(sub)
    cli_schedules.add_parser(sub)
    cli_functions.add_parser(sub)
    cli_secrets.add_parser(sub)
    cli_ops.add_parsers(sub)
    cli_local.add_keystone_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # quietly: what was asked stops here
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None) -> int:
    try:
        args = build_parser(argv).parse_args(argv)
        settings = Settings()
    except UsageError as exc:
        print(f"zunray: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # pydantic's ValidationError: a bad ZUNRAY_* value, named
        print(f"zunray: bad configuration: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.fn(settings, args)
    except (
        UsageError,
        ValueError,
    ) as exc:  # ValueError: a payload that is not JSON, no endpoint in the catalog
        print(f"zunray {args.cmd}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ZunrayError, httpx.HTTPError, *connect.KEYSTONE_ERRORS) as exc:
        print(f"zunray {args.cmd}: {exc}", file=sys.stderr)
        return EXIT_ZUNRAY


if __name__ == "__main__":
    sys.exit(main())
