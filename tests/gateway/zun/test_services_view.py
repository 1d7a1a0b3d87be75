"""Zun's view of a host's zun-compute service: state, disabled, forced down, zone."""

from __future__ import annotations

from gateway.zun.services import service_view
from runner.store.hosts import HostAdmin

HOST = {"name": "node-a", "up": True, "last_seen": 1_700_000_000.5, "labels": {"zone": "az-1"}}


def test_an_untouched_host_is_an_enabled_service_up_in_its_zone():
    view = service_view(HOST, HostAdmin())
    assert (view["host"], view["binary"], view["state"]) == ("node-a", "zun-compute", "up")
    assert (view["disabled"], view["disabled_reason"], view["forced_down"]) == (False, None, False)
    assert view["availability_zone"] == "az-1"
    assert view["last_seen_up"] == "2023-11-14T22:13:20.500000" == view["updated_at"]
    assert view["id"] == service_view({**HOST, "labels": {}}, HostAdmin())["id"]  # stable by name


def test_forced_down_or_silent_hosts_are_down_and_disabled_ones_say_why():
    assert service_view(HOST, HostAdmin(forced_down=True))["state"] == "down"
    assert service_view({**HOST, "up": False}, HostAdmin())["state"] == "down"
    view = service_view(
        {**HOST, "labels": {}}, HostAdmin(enabled=False, reason="disk", updated_at=5.0)
    )
    assert (view["disabled"], view["disabled_reason"], view["state"]) == (True, "disk", "up")
    assert (
        view["availability_zone"] == "nova" and view["updated_at"] == "1970-01-01T00:00:05.000000"
    )
