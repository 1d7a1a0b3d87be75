"""Zun microversions: ``OpenStack-API-Version: container X.Y`` on requests and responses.

No header means 1.1 (Zun's rule); ``latest`` means 1.40; a malformed value,
another service's name or a version outside [1.1, 1.40] is 406, as in Zun. The negotiated version is
``request.state.api_version``; the middleware adds the version headers to
every response of the Zun routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from runner.errors import InvalidSpec, ZunrayError

HEADER = "OpenStack-API-Version"
SERVICE = "container"


@dataclass(frozen=True, order=True, slots=True)
class Version:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> Version:
        m = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", text)
        if not m:
            raise VersionNotAcceptable("Invalid value for OpenStack-API-Version header")
        return cls(int(m.group(1)), int(m.group(2)))


MIN_VERSION = Version(1, 1)
MAX_VERSION = Version(1, 40)


class VersionNotAcceptable(ZunrayError):
    """The requested microversion is outside what this server supports (406)."""


def negotiate(header: str | None) -> Version:
    if not header:
        return MIN_VERSION
    parts = header.strip().split()
    if len(parts) != 2 or parts[0] != SERVICE:
        raise VersionNotAcceptable("Invalid service type for OpenStack-API-Version header")
    if parts[1].lower() == "latest":
        return MAX_VERSION
    version = Version.parse(parts[1])
    if version.major != MAX_VERSION.major:
        raise VersionNotAcceptable(
            f"Mutually exclusive versions requested. Version {version} requested but not supported by this service. "
            f"The supported version range is: [{SERVICE} {MIN_VERSION}, {SERVICE} {MAX_VERSION}]."
        )
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionNotAcceptable(
            f"Version {version} was requested but the minor version is not supported by this service. "
            f"The supported version range is: [{SERVICE} {MIN_VERSION}, {SERVICE} {MAX_VERSION}]."
        )
    return version


def require(version: Version, *, since: str | None = None, until: str | None = None) -> None:
    """406 when an endpoint does not exist at ``version`` (Zun's per-version routing)."""
    if (since and version < Version.parse(since)) or (until and version > Version.parse(until)):
        raise VersionNotAcceptable(
            f"Version {version} was requested but the requested API is not supported for this version."
        )


def check_param(version: Version, name: str, since: str) -> None:
    """400 for a parameter newer than the request's version (Zun's version_check)."""
    if version < Version.parse(since):
        raise InvalidSpec(
            f"Invalid param {name} because current request version is {version}. {name} is only supported from version {since}",
            field=name,
        )


def api_version(request: Request) -> Version:
    """FastAPI dependency of every Zun route."""
    request.state.error_domain = "container"
    version = negotiate(request.headers.get(HEADER))
    request.state.api_version = version
    return version


VersionDep = Annotated[Version, Depends(api_version)]


def version_headers(version: Version | None) -> dict[str, str]:
    headers = {
        "OpenStack-API-Minimum-Version": f"{SERVICE} {MIN_VERSION}",
        "OpenStack-API-Maximum-Version": f"{SERVICE} {MAX_VERSION}",
        "Vary": HEADER,
    }
    if version is not None:
        headers[HEADER] = f"{SERVICE} {version}"
    return headers
