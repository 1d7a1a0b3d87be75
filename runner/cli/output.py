"""How list and show commands print, as ``openstack`` does: ``-f table|json|value|yaml``
and ``-c COLUMN`` (repeatable).

Columns are the API's field names. A table has a header row (a show command: a
Field/Value table); ``json`` and ``yaml`` print the selected fields with their JSON
values (a list of objects, or one object), so the output parses back; ``value``
prints bare values, a row a line (a show command: a value a line).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

FORMATS = ("table", "json", "value", "yaml")


class UsageError(Exception):
    """A command line that parses but cannot be acted on (exit code 2)."""


def add_format_options(parser: argparse.ArgumentParser, default_columns: Sequence[str]) -> None:
    group = parser.add_argument_group("output formatters")
    group.add_argument(
        "-f", "--format", choices=FORMATS, default="table", help="output format (default: table)"
    )
    group.add_argument(
        "-c",
        "--column",
        action="append",
        dest="columns",
        metavar="COLUMN",
        help=f"a field to show, repeatable (an API field name; default: {', '.join(default_columns)})",
    )


def _columns(wanted: list[str] | None, default: Sequence[str], known: set[str]) -> list[str]:
    if not wanted:
        return list(default)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise UsageError(
            f"no column named {', '.join(unknown)}; columns: {', '.join(sorted(known))}"
        )
    return wanted


def _cell(value: Any) -> str:
    """A value in a table or ``value`` line: structures as compact JSON."""
    return (
        json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)
    )


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A boxed table with a header row, as ``openstack`` draws one."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([rule, line(headers), rule, *(line(r) for r in rows), rule])


def _dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2)
    import yaml  # only for -f yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n")


def print_list(
    args: argparse.Namespace,
    rows: list[dict],
    default_columns: Sequence[str],
    *,
    out: TextIO | None = None,
) -> None:
    """Rows (API objects) in the asked format and columns."""
    known = set(default_columns).union(*rows)
    columns = _columns(args.columns, default_columns, known)
    picked = [{c: row.get(c) for c in columns} for row in rows]
    out = out or sys.stdout
    if args.format == "table":
        print(render_table(columns, [[_cell(r[c]) for c in columns] for r in picked]), file=out)
    elif args.format == "value":
        for r in picked:
            print(" ".join(_cell(r[c]) for c in columns), file=out)
    else:
        print(_dump(picked, args.format), file=out)


def print_one(args: argparse.Namespace, obj: dict, *, out: TextIO | None = None) -> None:
    """One API object: every field, or the ``-c`` ones."""
    columns = _columns(args.columns, list(obj), set(obj))
    picked = {c: obj[c] for c in columns}
    out = out or sys.stdout
    if args.format == "table":
        print(
            render_table(("Field", "Value"), [[c, _cell(v)] for c, v in picked.items()]), file=out
        )
    elif args.format == "value":
        for v in picked.values():
            print(_cell(v), file=out)
    else:
        print(_dump(picked, args.format), file=out)
