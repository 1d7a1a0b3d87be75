"""Zun microversions: ``OpenStack-API-Version: container X.Y`` on requests and responses.

No header means 1.1 (Zun's rule); ``latest`` means 1.40; a malformed value is
400 and one outside [1.1, 1.40] is 406, as in Zun. The negotiated version is
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
            raise InvalidSpec(f"Invalid API version format: {text!r}; expected X.Y or 'latest'")
        return cls(int(m.group(1)), int(m.group(2)))


MIN_VERSION = Version(1, 1)
MAX_VERSION = Version(1, 40)


class VersionNotAcceptable(ZunrayError):
    """The requested microversion is outside what this server supports (406)."""


def negotiate(header: str | None) -> Version:
    if not header:
        return MIN_VERSION
    wanted = None
    for item in header.split(","):
        parts = item.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() == SERVICE:
            wanted = parts[1].strip()
    if wanted is None:
        return MIN_VERSION  # a header for another service: as if absent
    if wanted.lower() == "latest":
        return MAX_VERSION
    version = Version.parse(wanted)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionNotAcceptable(f"Version {version} was requested but the minor version is not supported by this version of Zun API. Supported versions are {MIN_VERSION} to {MAX_VERSION}.")
    return version


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
