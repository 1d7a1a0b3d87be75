from __future__ import annotations

import json

import pytest

from policies.access import DEFAULT_RULES, allowed, load_rules


@pytest.mark.parametrize("roles, expected", [(("member",), False), (("admin",), True)], ids=["member", "admin"])
def test_defaults_make_privileged_admin_only(roles, expected):
    assert allowed(DEFAULT_RULES, "container:create:privileged", roles) is expected


def test_an_operator_file_overrides_a_rule(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"container:create:runtime": "any", "host:get_all": "role:operator"}))
    rules = load_rules(path)
    assert allowed(rules, "container:create:runtime", ["member"])
    assert allowed(rules, "host:get_all", ["operator"]) and not allowed(rules, "host:get_all", ["member"])
    assert not allowed(rules, "container:create:privileged", ["member"])  # untouched default


@pytest.mark.parametrize("content, message", [({"no:such:rule": "any"}, "unknown access rules"), ({"host:get": "everyone"}, "is not admin, any or role")], ids=["unknown-rule", "bad-value"])
def test_bad_operator_files_are_refused(tmp_path, content, message):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=message):
        load_rules(path)
