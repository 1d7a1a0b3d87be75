"""Keystone for the SDK: a keystoneauth1 session (or auth plugin) behind httpx.

As python-zunclient does through a keystoneauth ``Adapter``, the session holds the
credentials and hands out the current token: the plugin logs in again when its
token is about to expire. A 401 (the token was revoked, or the gateway no longer
takes it) invalidates the plugin and the request is sent once more with a fresh
token. Without an explicit URL, the endpoint comes from the catalog (service type
``container``), which names it with Zun's ``/v1`` suffix.
"""

from __future__ import annotations

import ssl
from collections.abc import Generator
from typing import Any

import httpx

SERVICE_TYPE = "container"  # Zun's, the type `zunray keystone-register` registers


class SessionAuth(httpx.Auth):
    """X-Auth-Token from a keystoneauth1 session; one retry with a new token on 401."""

    def __init__(self, session: Any, auth: Any = None) -> None:
        self.session = session
        self.auth = auth  # None: the session's own plugin

    def _token_headers(self) -> dict[str, str]:
        return self.session.get_auth_headers(auth=self.auth) or {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._token_headers())
        response = yield request
        if response.status_code == 401 and self.session.invalidate(auth=self.auth):
            request.headers.update(self._token_headers())
            yield request


def session_of(session: Any, auth: Any) -> Any:
    """The session to use: the caller's, or a new one around an auth plugin."""
    if session is not None:
        return session
    from keystoneauth1.session import Session  # only callers using Keystone need keystoneauth1

    return Session(auth=auth)


def catalog_url(session: Any, auth: Any, *, interface: str, region_name: str | None) -> str:
    """The gateway's URL from the catalog, without Zun's ``/v1`` (the SDK's paths carry it)."""
    url = session.get_endpoint(
        auth=auth, service_type=SERVICE_TYPE, interface=interface, region_name=region_name
    )
    if not url:
        raise ValueError(f"no {SERVICE_TYPE!r} endpoint ({interface}) in the catalog: pass url=")
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def tls_verify(session: Any) -> bool | ssl.SSLContext:
    """The session's TLS for httpx: verification on, off, or against a CA bundle's path, and its
    client certificate (``cert``: one PEM file holding both, or a (cert, key) pair of paths), as
    ``--os-cacert``, ``--insecure`` and ``--os-cert``/``--os-key`` (or clouds.yaml) set them."""
    verify = getattr(session, "verify", True)
    cert = getattr(session, "cert", None)
    if not cert and not isinstance(verify, str):
        return bool(verify)
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert:
        certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
        context.load_cert_chain(certfile, keyfile)
    return context
