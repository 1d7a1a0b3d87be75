"""``-f table|json|value|yaml`` and ``-c``, as ``openstack`` prints them."""

from __future__ import annotations

import argparse
import io
import json

import pytest
import yaml

from runner.cli.output import UsageError, print_list, print_one

ROWS = [
    {"id": "a1", "status": "Succeeded", "exit_code": 0, "env": {"K": "v"}},
    {"id": "b2", "status": "Failed", "exit_code": None, "env": {}},
]
DEFAULT = ("id", "status", "exit_code")


def _out(printer, data, fmt: str, columns: list[str] | None = None, *default) -> str:  # noqa: ANN001, ANN002
    buf = io.StringIO()
    printer(argparse.Namespace(format=fmt, columns=columns), data, *default, out=buf)
    return buf.getvalue()


def test_a_table_has_a_header_row_and_the_default_columns():
    lines = _out(print_list, ROWS, "table", None, DEFAULT).splitlines()
    assert lines[0].startswith("+--") and lines[1].split("|")[1:-1] == [
        " id ",
        " status    ",
        " exit_code ",
    ]
    assert (
        lines[3] == "| a1 | Succeeded | 0         |"
        and lines[4] == "| b2 | Failed    | None      |"
    )
    assert len(lines) == 6  # rule, header, rule, two rows, rule


@pytest.mark.parametrize(
    "fmt, parse", [("json", json.loads), ("yaml", yaml.safe_load)], ids=["json", "yaml"]
)
def test_json_and_yaml_parse_back_to_the_chosen_fields(fmt, parse):
    assert parse(_out(print_list, ROWS, fmt, None, DEFAULT)) == [
        {k: r[k] for k in DEFAULT} for r in ROWS
    ]
    assert parse(_out(print_list, ROWS, fmt, ["env", "id"], DEFAULT)) == [
        {"env": {"K": "v"}, "id": "a1"},
        {"env": {}, "id": "b2"},
    ]
    assert parse(_out(print_list, [], fmt, None, DEFAULT)) == []
    assert parse(_out(print_one, ROWS[0], fmt, ["status"])) == {"status": "Succeeded"}


def test_value_prints_bare_values_for_scripts():
    assert _out(print_list, ROWS, "value", ["id", "env"], DEFAULT) == 'a1 {"K":"v"}\nb2 {}\n'
    assert _out(print_one, ROWS[0], "value", ["status", "exit_code"]) == "Succeeded\n0\n"


def test_show_is_a_field_value_table_of_every_field():
    lines = _out(print_one, ROWS[0], "table").splitlines()
    assert lines[1].split("|")[1:-1] == [" Field     ", " Value     "]
    assert [line.split("|")[1].strip() for line in lines[3:-1]] == list(ROWS[0])


def test_an_unknown_column_is_a_usage_error_naming_the_known_ones():
    with pytest.raises(
        UsageError, match="no column named nope; columns: env, exit_code, id, status"
    ):
        _out(print_list, ROWS, "json", ["id", "nope"], DEFAULT)
    with pytest.raises(UsageError):
        _out(print_one, ROWS[0], "table", ["nope"])
