"""A ``docker save`` tarball with its own tags removed, before ``docker load``.

``docker load`` applies the tags a tarball carries (``RepoTags`` in
``manifest.json``, the legacy ``repositories`` file): a tarball from Glance
saying ``busybox:latest`` would replace the platform's busybox on the host.
Zunray loads the image untagged and tags it with the one name it chose.
"""

from __future__ import annotations

import io
import json
import tarfile
from typing import IO

from runner.errors import ImageUnavailable

MANIFEST = "manifest.json"
LEGACY_TAGS = "repositories"


def strip_tags(src: IO[bytes], dst: IO[bytes]) -> None:
    """Copy the tarball ``src`` to ``dst`` without tags; exactly one image must be in it."""
    found_manifest = False
    try:
        with (
            tarfile.open(fileobj=src, mode="r|*") as tin,
            tarfile.open(fileobj=dst, mode="w|") as tout,
        ):
            for member in tin:
                name = member.name.removeprefix("./")
                if name == LEGACY_TAGS:
                    continue
                if name == MANIFEST and member.isfile():
                    data = _untagged_manifest(tin.extractfile(member).read())
                    found_manifest = True
                    member.size = len(data)
                    tout.addfile(member, io.BytesIO(data))
                    continue
                tout.addfile(member, tin.extractfile(member) if member.isfile() else None)
    except (tarfile.TarError, ValueError, KeyError, TypeError) as exc:
        raise ImageUnavailable(f"the image data is not a docker save archive: {exc}") from exc
    if not found_manifest:
        raise ImageUnavailable("the image data has no manifest.json (not a docker save archive)")


def _untagged_manifest(raw: bytes) -> bytes:
    manifest = json.loads(raw)
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        raise ImageUnavailable(
            f"the image data must hold exactly one image, not {len(manifest) if isinstance(manifest, list) else 'an unknown number'}"
        )
    manifest[0]["RepoTags"] = None
    return json.dumps(manifest).encode()
