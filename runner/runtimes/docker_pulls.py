"""Images present on one Docker engine, pulled when a policy asks for it.

``ImagePulls`` is held by a ``DockerRuntime`` (its client, node and settings given):
the pull policy, the operator's allowed registries, images private to the project
that pulled them with credentials (``PullRecords``) and a short memory of images
seen present. ``named`` gives every image an explicit tag; dockerd's error text is
never shown to a tenant (``_pull_failure`` says what went wrong in words of ours).
A pull is read as a stream: its errors surface (a pull that is not streamed ends
"successfully" on an error dockerd reports mid-way), and ``progress`` hears how far it got.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import docker
import requests
from docker import errors as derr
from docker.utils import parse_repository_tag

from runner.errors import ImageUnavailable, Unavailable
from runner.images.refs import host_allowed, parse
from runner.models import PullPolicy

log = logging.getLogger(__name__)

IMAGE_CACHE_S = 60.0  # how long an image seen present is taken as present without asking


class PullRecords(Protocol):
    """Who pulled which image with credentials (``runner/store/images.py``)."""

    def private_pullers(self, reference: str) -> set[str]: ...

    def record_private_pull(self, project_id: str, reference: str, *, registry: str) -> None: ...


class ImagePulls:
    """The images of one engine: present, pulled, or refused."""

    def __init__(
        self,
        api: docker.APIClient,
        *,
        node: str,
        allowed_registries: tuple[str, ...] = (),
        pulls: PullRecords | None = None,
    ) -> None:
        self._api = api
        self.node = node
        self.allowed_registries = (
            allowed_registries  # Settings.allowed_registries: no pull from any other host
        )
        self.pulls = pulls  # who pulled what with credentials (the store); None: images are not told apart by project
        self._present: dict[str, float] = {}  # image -> when last seen present

    def ensure(
        self,
        image: str,
        policy: PullPolicy,
        *,
        auth: dict[str, str] | None = None,
        registry: str = "",
        project: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Make ``image`` present locally according to ``policy`` (``DockerRuntime.ensure_image``);
        a pull tells ``progress`` how far it got ("pulling busybox:latest: 1.2 MB of 2.1 MB")."""
        image = named(image)
        private_to_others = self._private_to_others(image, project)
        seen = self._present.get(image)
        if (
            seen is not None
            and time.monotonic() - seen < IMAGE_CACHE_S
            and policy is not PullPolicy.ALWAYS
            and not private_to_others
        ):
            return
        present = self.present(image) and not private_to_others
        if present and policy is not PullPolicy.ALWAYS:
            return
        if policy is PullPolicy.NEVER:
            raise ImageUnavailable(
                f"image {image} is not present on host {self.node} and the pull policy is 'never'"
            )
        ref = parse(image)
        if not host_allowed(ref.host, self.allowed_registries):
            raise ImageUnavailable(
                f"image {image} names registry {ref.host}, which is not on the operator's list of allowed registries"
            )
        repo, tag = parse_repository_tag(image)
        try:
            self._pull(image, repo, tag or "latest", auth, progress or (lambda _: None))
        except (requests.exceptions.RequestException, derr.DockerException) as exc:
            # dockerd's text can name internal addresses and what answers there: the host's log keeps it, the tenant gets a class
            log.warning("pulling %s on %s failed: %s", image, self.node, explain(exc))
            where = "present locally but" if present else "not present locally and"
            raise ImageUnavailable(
                f"image {image} is {where} could not be pulled on host {self.node}: {_pull_failure(exc)}"
            ) from exc
        if (
            self.pulls is not None and project is not None and (auth or private_to_others)
        ):  # it proved its access
            self.pulls.record_private_pull(project, image, registry=registry or ref.host or "")
        self._present[image] = time.monotonic()

    def _pull(
        self,
        image: str,
        repo: str,
        tag: str,
        auth: dict[str, str] | None,
        progress: Callable[[str], None],
    ) -> None:
        progress(f"pulling {image}")
        layers: dict[str, tuple[int, int]] = {}  # layer id -> (bytes downloaded, its size)
        for event in self._api.pull(repo, tag=tag, auth_config=auth, stream=True, decode=True):
            if "error" in event:
                raise derr.DockerException(event["error"])
            status, layer = event.get("status"), event.get("id", "")
            total = (event.get("progressDetail") or {}).get("total")
            if status == "Downloading" and total:
                layers[layer] = (event["progressDetail"].get("current", 0), total)
                progress(pull_progress(image, layers))
            elif status == "Download complete" and layer in layers:
                layers[layer] = (layers[layer][1], layers[layer][1])
                progress(pull_progress(image, layers))
            elif status == "Extracting":
                progress(pull_progress(image, layers) + ", unpacking")

    def _private_to_others(self, image: str, project: str | None) -> bool:
        if self.pulls is None or project is None:
            return False
        pullers = self.pulls.private_pullers(image)
        return bool(pullers) and project not in pullers

    def present(self, image: str) -> bool:
        """Whether the engine has ``image`` (named: see ``named``) now."""
        try:
            self._api.inspect_image(image)
            self._present[image] = time.monotonic()
            return True
        except derr.NotFound:
            return False
        except (requests.exceptions.RequestException, derr.DockerException) as exc:
            raise Unavailable(f"Docker engine unreachable: {exc}") from exc

    def saw_present(self, image: str) -> None:
        self._present[image] = time.monotonic()

    def forget(self, image: str) -> None:
        """``image`` is gone after all (removed since it was seen): look again next time."""
        self._present.pop(image, None)


def named(image: str) -> str:
    """``image`` with an explicit tag (``latest``), never a lookup by id.

    Docker resolves a name it does not know as a prefix of a local image's id
    (``ad020d``, ``sha256:ad020d``): a tenant could run images by id that no
    name of theirs leads to. An explicit tag stops that lookup.
    """
    ref = parse(image)
    if ref.repository == "sha256":
        raise ImageUnavailable(f"an image is named by repository and tag, not by id: {image}")
    return image if ref.tag or ref.digest else f"{image}:latest"


def pull_progress(image: str, layers: dict[str, tuple[int, int]]) -> str:
    """How far a pull got, over the layers whose size is known so far."""
    done = sum(current for current, _ in layers.values())
    total = sum(size for _, size in layers.values())
    return f"pulling {image}: {done / 1e6:.1f} MB of {total / 1e6:.1f} MB"


def _pull_failure(exc: Exception) -> str:
    """What went wrong, in words of ours (never dockerd's text, which may describe internal hosts)."""
    text = explain(exc).lower()
    if any(
        word in text
        for word in ("unauthorized", "denied", "authentication required", "no basic auth")
    ):
        return "the registry refused access (check the registry's credentials)"
    if any(word in text for word in ("manifest unknown", "not found", "does not exist")):
        return "the registry has no such image"
    return "the registry could not be reached or failed (details are in the host's log)"


def explain(exc: Exception) -> str:
    """Docker's own text of an error (for logs and operators' messages)."""
    if isinstance(exc, derr.APIError):
        return str(exc.explanation or exc)
    return str(exc)
