"""image_driver=glance: the image comes from Glance (an HTTP-level stand-in) via openstacksdk."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.gateway.zun.conftest import wait_for
from tests.glance_standin import GlanceStandIn

pytestmark = [pytest.mark.docker, pytest.mark.ray]


@pytest.fixture(scope="module")
def glance(zunray):
    standin = GlanceStandIn(urlparse(zunray.settings.glance_url).port).start()
    saved = b"".join(zunray.docker.images.get("busybox:latest").save())
    standin.add_image("glance-busybox", saved)
    standin.add_image("not-docker", b"qcow2 bytes", container_format="bare")
    yield standin
    standin.stop()
    for ref in ("glance-busybox:latest",):
        try:
            zunray.docker.images.remove(ref)
        except Exception:
            pass


def test_container_from_a_glance_image(zc, zunray, made, glance):
    c = zc.containers.run(
        image="glance-busybox",
        image_driver="glance",
        command=["sh", "-c", "echo from-glance; sleep 300"],
    )
    made.append(c.uuid)
    wait_for(zc, c.uuid, "Running", timeout_s=60)
    assert glance.downloads >= 1
    assert zunray.docker.images.get("glance-busybox:latest")
    assert zc.containers.logs(c.uuid, stdout=True, stderr=True) == "from-glance\n"


@pytest.mark.parametrize(
    "image, reason",
    [("missing-image", "not found in Glance"), ("not-docker", "container_format 'bare'")],
    ids=["absent", "wrong-format"],
)
def test_glance_failures_end_in_error(zc, made, glance, image, reason):
    c = zc.containers.run(image=image, image_driver="glance", command=["true"])
    made.append(c.uuid)
    failed = wait_for(zc, c.uuid, "Error", timeout_s=60)
    assert reason in failed.status_reason
