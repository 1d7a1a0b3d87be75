"""The gateway reads the operator's policy file; policies/access.py only parses it."""

from __future__ import annotations

import json

import pytest

from gateway.app import access_rules


def test_the_policy_file_overrides_the_defaults(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"host:get_all": "role:operator"}))
    rules = access_rules(path)
    assert rules["host:get_all"] == "role:operator" and rules["host:get"] == "admin"


def test_no_policy_file_gives_the_defaults():
    assert access_rules(None)["container:create:privileged"] == "admin"


def test_a_bad_policy_file_is_named(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"no:such:rule": "any"}))
    with pytest.raises(ValueError, match=str(path)):
        access_rules(path)
