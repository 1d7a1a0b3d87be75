"""The image checks every create route applies: the registry host a reference
names must be on the operator's list, and a pull policy other than the default
(``ifnotpresent``) needs the route's access rule (admin by default, as in Zun).

The node's Docker driver applies the registry list again before any pull
(``runner/runtimes/docker.py``), for paths that do not come through here.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request

from gateway.context import enforce
from runner.images.refs import check_reference
from runner.models import PullPolicy


def check_images(request: Request, refs: Iterable[tuple[str, str]]) -> None:
    """400/403 for the first (field, reference) a tenant may not use."""
    allowed = request.app.state.settings.allowed_registries
    for field, ref in refs:
        check_reference(ref, allowed_registries=allowed, field=field)


def check_pull_policies(request: Request, rule: str, policies: Iterable[PullPolicy | str]) -> None:
    """``rule`` is needed only when some policy is not the default."""
    if any(PullPolicy(p) is not PullPolicy.IF_NOT_PRESENT for p in policies):
        enforce(request, rule)
