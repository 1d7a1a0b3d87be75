"""Image references as Docker reads them: which registry host one names, its
repository and tag, and the checks every entry point applies to a reference a
tenant gives.

A reference names a registry host when its first path component holds a ``.``
or a ``:`` or is ``localhost`` (Docker's own rule); such a host must be on the
operator's ``allowed_registries``, so that dockerd cannot be made to connect to
an internal address. Names without a host (``busybox``, ``team/app:1``) are local
images or Docker Hub names and are always allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.errors import Forbidden, InvalidSpec


@dataclass(frozen=True, slots=True)
class ImageRef:
    host: str | None  # the registry host[:port] the reference names, or None
    repository: str  # everything before the tag or digest, host included
    tag: str | None
    digest: str | None  # "sha256:..." after "@"

    @property
    def normalized(self) -> str:
        """``repository:tag`` (``latest`` when none) or ``repository@digest``: the form stored and compared."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag or 'latest'}"


def parse(ref: str) -> ImageRef:
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    first, _, rest = name.partition("/")
    host = first if rest and ("." in first or ":" in first or first == "localhost") else None
    return ImageRef(host=host, repository=name, tag=tag, digest=digest or None)


def host_allowed(host: str | None, allowed: tuple[str, ...]) -> bool:
    """An entry ``host:port`` allows that address; an entry ``host`` allows every port of it."""
    if host is None:
        return True
    return host in allowed or host.rsplit(":", 1)[0] in allowed


def check_reference(
    ref: str, *, allowed_registries: tuple[str, ...], field: str = "image"
) -> ImageRef:
    """The parsed reference, or 400/403 naming why a tenant may not use it.

    ``sha256:<hex>`` is refused: Docker resolves it (like a bare hex name) as a
    prefix of a local image id, which would let a tenant reach images by id
    that no name of theirs leads to (untagged names get ``:latest`` at the
    driver for the same reason).
    """
    image = parse(ref)
    if image.repository == "sha256":
        raise InvalidSpec(
            f"an image is named by repository and tag, not by id: {ref!r}", field=field
        )
    if not host_allowed(image.host, allowed_registries):
        raise Forbidden(
            f"registry {image.host} is not on the operator's list of allowed registries (allowed_registries)"
        )
    return image
