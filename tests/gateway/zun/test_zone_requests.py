"""`availability_zone` (containers) and `availabilityZone` (capsule templates) reach placement's
demand, and the store keeps them (a container created again after its host is lost stays in its zone)."""

from __future__ import annotations

import json

import pytest

from actors import placeables
from gateway.context import Caller
from gateway.zun.capsule_template import capsule_from_body
from gateway.zun.create import container_from_body
from gateway.zun.microversion import MAX_VERSION
from runner.errors import InvalidSpec
from runner.models import CapsuleSpec

CALLER = Caller(project_id="p1", user_id="u1")
TEMPLATE = {"kind": "capsule", "metadata": {}, "spec": {"containers": [{"image": "busybox"}]}}


def _container(**body):
    raw = json.dumps({"image": "busybox", **body}).encode()
    return container_from_body(
        raw, caller=CALLER, version=MAX_VERSION, run=True, may_mount_host=False
    )


def test_a_containers_zone_is_placements_zone_and_survives_the_store():
    c = _container(availability_zone="az-2")
    assert placeables.from_container(c).demand.zone == "az-2"
    assert CapsuleSpec.from_dict(c.capsule.to_dict()).availability_zone == "az-2"
    assert placeables.from_container(_container()).demand.zone is None


def test_a_capsule_templates_zone_is_placements_zone():
    cap = capsule_from_body({"template": {**TEMPLATE, "availabilityZone": "az-1"}}, caller=CALLER)
    assert placeables.from_capsule(cap).demand.zone == "az-1"
    assert (
        placeables.from_capsule(
            capsule_from_body({"template": TEMPLATE}, caller=CALLER)
        ).demand.zone
        is None
    )


@pytest.mark.parametrize("zone", [7, "z" * 300], ids=["not-a-string", "too-long"])
def test_a_bad_capsule_zone_is_400_naming_the_field(zone):
    with pytest.raises(InvalidSpec) as err:
        capsule_from_body({"template": {**TEMPLATE, "availabilityZone": zone}}, caller=CALLER)
    assert err.value.field == "availabilityZone"
