"""Zun's services and availability zones through the real python-zunclient and `openstack`:
one zun-compute per host, disable/enable/force_down felt by placement, zones from node labels,
`availability_zone` at create."""

from __future__ import annotations

import json
import time

import pytest
from zunclient import exceptions as zexc

from tests.gateway.zun.conftest import wait_for
from tests.gateway.zun.test_capsules import template
from tests.gateway.zun.test_openstack_cli import openstack

pytestmark = [pytest.mark.docker, pytest.mark.ray]

BINARY = "zun-compute"


def _service(zc):
    [svc] = zc.services.list()
    return svc


def _waiting_reason(zc, uuid: str, text: str) -> str:
    """The status_reason of a container placement holds, once it says ``text``."""
    deadline = time.monotonic() + 20
    while text not in ((c := zc.containers.get(uuid)).status_reason or ""):  # None until noted
        assert c.status == "Creating" and time.monotonic() < deadline, (c.status, c.status_reason)
        time.sleep(0.2)
    return c.status_reason


def test_a_disabled_or_forced_down_service_takes_no_new_container_until_enabled(zc, made):
    svc = _service(zc)
    [host] = zc.hosts.list()
    assert (svc.host, svc.binary, svc.state, svc.disabled) == (host.hostname, BINARY, "up", False)
    assert (svc.forced_down, svc.availability_zone, svc.disabled_reason) == (False, "nova", None)
    _, body = zc.services.disable(svc.host, BINARY, "kernel upgrade")
    try:
        assert body["service"] == {
            "host": svc.host,
            "binary": BINARY,
            "disabled": True,
            "disabled_reason": "kernel upgrade",
        }
        assert (_service(zc).disabled, _service(zc).disabled_reason) == (True, "kernel upgrade")
        c = zc.containers.run(image="busybox:latest", command=["sleep", "600"])
        made.append(c.uuid)
        assert "host disabled: kernel upgrade" in _waiting_reason(zc, c.uuid, "kernel upgrade")
        _, body = zc.services.force_down(svc.host, BINARY, True)
        assert body["service"]["forced_down"] is True
        zc.services.enable(svc.host, BINARY)  # still forced down: no new work
        listed = _service(zc)
        assert (listed.state, listed.disabled, listed.forced_down) == ("down", False, True)
        assert "forced down by an operator" in _waiting_reason(zc, c.uuid, "forced down")
    finally:
        zc.services.force_down(svc.host, BINARY, False)
        zc.services.enable(svc.host, BINARY)
    assert _service(zc).state == "up"
    assert wait_for(zc, c.uuid, "Running").host == svc.host


def test_unknown_services_and_parameters_are_refused_as_zun_does(zc, zunray):
    host = _service(zc).host
    with pytest.raises(zexc.NotFound, match=f"Zun service zun-api on host {host} could not"):
        zc.services.disable(host, "zun-api")
    with pytest.raises(zexc.NotFound, match="Zun service zun-compute on host nowhere could not"):
        zc.services.enable("nowhere", BINARY)
    with pytest.raises(zexc.BadRequest, match="forced_down"):
        zc.services.force_down(host, BINARY, "maybe")
    # Zun reads the parameters from a JSON body too, and has no version gate on services
    resp = zunray.http.put(
        "/v1/services/disable",
        json={"host": host, "binary": BINARY, "disabled_reason": "body", "extra": 1},
        headers={"OpenStack-API-Version": "container 1.1"},
    )
    assert resp.status_code == 400 and "extra" in resp.json()["errors"][0]["detail"]
    resp = zunray.http.put(
        "/v1/services/enable",
        json={"host": host, "binary": BINARY},
        headers={"OpenStack-API-Version": "container 1.1"},
    )
    assert resp.status_code == 200 and resp.json()["service"]["disabled"] is False


def test_zones_come_from_node_labels_and_a_create_names_one(zc, zunray, made):
    assert [z.availability_zone for z in zc.availability_zones.list()] == ["nova"]
    c = zc.containers.run(
        image="busybox:latest", command=["sleep", "600"], availability_zone="nova"
    )
    made.append(c.uuid)
    assert wait_for(zc, c.uuid, "Running").host
    with pytest.raises(
        zexc.BadRequest, match=r"availability zone mars does not exist; zones: \['nova'\]"
    ):
        zc.containers.run(image="busybox:latest", command=["true"], availability_zone="mars")
    with pytest.raises(zexc.BadRequest, match="availability zone mars does not exist"):
        zc.capsules.create(template={**template("cap-mars"), "availabilityZone": "mars"})


def test_the_openstack_cli_lists_services_and_zones(zunray):
    services = json.loads(openstack(zunray, "appcontainer", "service", "list", "-f", "json").stdout)
    assert [(s["Binary"], s["State"], s["Availability Zone"]) for s in services] == [
        (BINARY, "up", "nova")
    ]
    zones = json.loads(
        openstack(zunray, "appcontainer", "availability", "zone", "list", "-f", "json").stdout
    )
    assert zones == [{"availability_zone": "nova"}]
