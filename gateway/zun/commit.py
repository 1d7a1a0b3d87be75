"""Where a Zun ``commit`` may write: the repository and tag it names, checked.

A commit tags a local image on the container's host, so a careless one could
replace an image other tenants or the platform run. Members commit only under
``<project_id>/`` (the access rule ``container:commit:any_repository`` lifts
that, admin by default); nobody replaces the platform's images; and the node
refuses to replace an existing tag that the store does not record as this
project's own commit (``actors/node_containers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.schemas import IMAGE_RE
from runner.capsule_run import INFRA_IMAGE
from runner.errors import Forbidden, InvalidSpec
from runner.images.refs import parse


@dataclass(frozen=True, slots=True)
class CommitTarget:
    repository: str
    tag: str
    namespaced: bool  # under the caller's project's namespace

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


def commit_target(
    repository: str, tag: str | None, *, project_id: str, platform_images: tuple[str, ...]
) -> CommitTarget:
    """400 for a malformed repository or tag, 403 for a platform image; the target otherwise."""
    tag = tag or "latest"
    ref = parse(f"{repository}:{tag}")
    if (
        not IMAGE_RE.match(f"{repository}:{tag}")
        or ref.repository != repository
        or ref.tag != tag
        or ref.digest
    ):
        raise InvalidSpec(
            f"not a valid repository and tag: {repository!r}, {tag!r}", field="repository"
        )
    protected = {parse(p).normalized for p in (*platform_images, INFRA_IMAGE)}
    if ref.normalized in protected:
        raise Forbidden(f"{ref.normalized} is an image of the platform: a commit never replaces it")
    return CommitTarget(
        repository=repository, tag=tag, namespaced=repository.startswith(f"{project_id}/")
    )
