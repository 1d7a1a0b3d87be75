"""SECURITY.md names every access rule an operator can set (a rule added without saying
what it guards is a rule nobody reviews)."""

from __future__ import annotations

from pathlib import Path

from policies.access import DEFAULT_RULES

DOC = (Path(__file__).resolve().parents[1] / "SECURITY.md").read_text()


def test_every_access_rule_is_in_security_md():
    missing = [rule for rule in DEFAULT_RULES if f"`{rule}`" not in DOC]
    assert not missing, f"SECURITY.md does not describe {missing}"
