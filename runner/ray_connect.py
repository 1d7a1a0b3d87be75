"""Joining a Zunray cluster as a Ray driver, with its auth settings, and the
names of the cluster-wide actors a driver looks up (``actors.bootstrap`` spawns
them under these names; the SDK over Ray and the gateway find them by them).

Ray reads its auth mode and token path from the environment, and caches both
when first loaded: a process that imported Ray (or talked to another cluster)
before must refresh them, as Ray's own ``_enable_token_auth`` does.
"""

from __future__ import annotations

import logging
import os

import ray

from runner.settings import Settings

PLACEMENT = "placement"
SCHEDULES = "schedules"
FUNCTIONS = "functions"
API = "api"  # the SDK's entrance (actors/api.py)


def connect(settings: Settings, address: str | None = None) -> None:
    """``ray.init`` to ``address`` (default: the settings' cluster) unless connected already."""
    if ray.is_initialized():
        return
    os.environ.update(settings.ray_env())
    try:  # private, but what Ray itself calls after changing RAY_AUTH_MODE
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError):
        pass
    ray.init(
        address=address or settings.ray_address_resolved,
        namespace=settings.ray_namespace,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
