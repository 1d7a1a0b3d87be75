"""The Glance image driver: find an image in Glance, download it, ``docker load`` it.

Images in Glance hold the output of ``docker save`` (container_format
``docker``), as in Zun. The image is then tagged with the name the user asked
for, so the container is created from it like any local image.
"""

from __future__ import annotations

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import noauth, session
import openstack
from openstack import exceptions as os_exc

from runner.errors import ImageUnavailable
from runner.models import PullPolicy
from runner.runtimes import docker_images
from runner.runtimes.docker import DockerRuntime

MAX_IMAGE_BYTES = 4 << 30


class GlanceImages:
    def __init__(self, *, endpoint: str, token: str | None = None) -> None:
        auth = noauth.NoAuth() if token is None else None
        sess = session.Session(auth=auth)
        if token is not None:
            sess.additional_headers["X-Auth-Token"] = token
        self._conn = openstack.connection.Connection(
            session=sess, image_endpoint_override=endpoint, image_api_version="2"
        )
        self.endpoint = endpoint

    def ensure_image(self, runtime: DockerRuntime, name: str, policy: PullPolicy) -> None:
        """Make ``name`` a local image, loading it from Glance when needed."""
        if policy is not PullPolicy.ALWAYS and runtime.image_present(name):
            return
        if policy is PullPolicy.NEVER:
            raise ImageUnavailable(
                f"image {name} is not present on host {runtime.node} and the pull policy is 'never'"
            )
        repo = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
        try:
            image = self._conn.image.find_image(
                repo, ignore_missing=True
            ) or self._conn.image.find_image(name, ignore_missing=True)
            if image is None:
                raise ImageUnavailable(f"image {name} was not found in Glance at {self.endpoint}")
            if image.container_format not in (None, "docker"):
                raise ImageUnavailable(
                    f"Glance image {image.id} has container_format {image.container_format!r}, not 'docker'"
                )
            if (image.size or 0) > MAX_IMAGE_BYTES:
                raise ImageUnavailable(
                    f"Glance image {image.id} is {image.size} bytes, over the limit of {MAX_IMAGE_BYTES}"
                )
            data = self._conn.image.download_image(image).content
        except (os_exc.SDKException, ks_exc.ClientException) as exc:
            raise ImageUnavailable(
                f"image {name} could not be fetched from Glance at {self.endpoint}: {exc}"
            ) from exc
        docker_images.load_image(
            runtime, data, tag_as=name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
        )
