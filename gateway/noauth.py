"""``noauth`` is for one machine: where the gateway may listen, and which Host it answers.

In noauth every caller is an admin, so the only fence is who can reach the
port. The gateway refuses to listen on a non-loopback address unless the
operator sets ``allow_noauth_remote``, and it answers only requests whose
``Host`` names it (a loopback name or address, or its bind address): a web
page that rebinds its own DNS name to 127.0.0.1 (``Host: evil.example:9517``)
gets 400, so a browser on this machine cannot be used to drive the API.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from runner.settings import Settings

log = logging.getLogger(__name__)

WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Refuse a non-loopback bind in noauth unless allowed (raises ValueError); warn either way."""
    if settings.auth_mode != "noauth":
        return
    host = settings.gateway_host.strip("[]").lower()
    if not _is_loopback(host) and not settings.allow_noauth_remote:
        raise ValueError(
            f"auth_mode noauth makes every caller an admin: refusing to listen on {settings.gateway_host}, which is not a loopback"
            " address; use auth_mode keystone, or set ZUNRAY_ALLOW_NOAUTH_REMOTE=true to accept every caller that reaches it"
        )
    log.warning(
        "auth_mode noauth: every caller that reaches %s is an admin of every project",
        settings.gateway_url,
    )


def host_allowed(settings: Settings, header: str | None) -> bool:
    """Whether a ``Host`` header names this gateway (DNS rebinding names another host)."""
    bind = settings.gateway_host.strip("[]").lower()
    if settings.allow_noauth_remote and bind in WILDCARDS:
        return True  # the operator opened every address; which names reach it is theirs to know
    try:
        parts = urlsplit(f"//{header or ''}")
        port = parts.port
    except ValueError:
        return False
    name = parts.hostname or ""
    return (port is None or port == settings.gateway_port) and (_is_loopback(name) or name == bind)
