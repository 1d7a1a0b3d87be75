from __future__ import annotations

import pytest

from policies.access import DEFAULT_RULES, allowed, rules_with


@pytest.mark.parametrize(
    "roles, expected", [(("member",), False), (("admin",), True)], ids=["member", "admin"]
)
def test_defaults_make_privileged_admin_only(roles, expected):
    assert allowed(DEFAULT_RULES, "container:create:privileged", roles) is expected


def test_an_operator_file_overrides_a_rule():
    rules = rules_with({"container:create:runtime": "any", "host:get_all": "role:operator"})
    assert allowed(rules, "container:create:runtime", ["member"])
    assert allowed(rules, "host:get_all", ["operator"]) and not allowed(
        rules, "host:get_all", ["member"]
    )
    assert not allowed(rules, "container:create:privileged", ["member"])  # untouched default


@pytest.mark.parametrize(
    "content, message",
    [
        ({"no:such:rule": "any"}, "unknown access rules in policy.json"),
        ({"host:get": "everyone"}, "is not admin, any or role"),
        (["host:get"], "a JSON object"),
    ],
    ids=["unknown-rule", "bad-value", "not-an-object"],
)
def test_bad_operator_files_are_refused(content, message):
    with pytest.raises(ValueError, match=message):
        rules_with(content, source="policy.json")
