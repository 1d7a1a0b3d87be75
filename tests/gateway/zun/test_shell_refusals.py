"""Which shell websockets the gateway refuses before looking at their token (no stack needed)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gateway.zun.interactive import _refusal
from runner.settings import Settings


def _ws(auth_mode: str, **headers: str) -> SimpleNamespace:
    settings = Settings(auth_mode=auth_mode, gateway_port=9517, keystone_url="http://k/v3")
    return SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(settings=settings)), headers=headers
    )


@pytest.mark.parametrize(
    ("auth_mode", "headers", "refused"),
    [
        (
            "noauth",
            {"host": "127.0.0.1:9517", "origin": "http://127.0.0.1:9517"},
            False,
        ),  # zunclient
        ("noauth", {"host": "127.0.0.1:9517"}, False),  # no Origin: not a browser
        ("noauth", {"host": "evil.example:9517"}, True),  # a name rebound to loopback
        (
            "noauth",
            {"host": "127.0.0.1:9517", "origin": "http://evil.example"},
            True,
        ),  # another page
        ("keystone", {"host": "zunray.example:9517", "origin": "https://zunray.example"}, False),
        ("keystone", {"host": "zunray.example:9517", "origin": "https://evil.example"}, True),
        ("keystone", {"host": "zunray.example:9517", "origin": "null"}, True),  # a sandboxed page
    ],
    ids=[
        "zunclient",
        "no-origin",
        "rebound-host",
        "foreign-page",
        "keystone-same",
        "keystone-foreign",
        "null",
    ],
)
def test_refused_by_host_and_origin(auth_mode, headers, refused):
    assert (_refusal(_ws(auth_mode, **headers)) is not None) is refused
