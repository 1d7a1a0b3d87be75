"""Zunray's domain, store, runtimes and clients.

``runner.Client`` (HTTP) and ``runner.RayClient`` (a Ray connection) are the
Python SDK; they are imported on first use so that the rest of the package
does not pull in httpx or Ray.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Client", "RayClient"]


def __getattr__(name: str) -> Any:
    if name == "Client":
        from runner.client.http import Client

        return Client
    if name == "RayClient":
        from runner.client.ray_client import RayClient

        return RayClient
    raise AttributeError(f"module 'runner' has no attribute {name!r}")
