"""Zun's /v1/availability_zones: the zones of the hosts, from their node label ``zone``
(``policies.zone``; a host without one is in ``nova``, as in Zun). Any member may list them:
they choose one with ``availability_zone`` at container create or ``availabilityZone`` in a
capsule template."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from gateway.context import enforce
from gateway.zun.microversion import api_version

router = APIRouter(
    prefix="/v1/availability_zones",
    tags=["zun availability zones"],
    dependencies=[Depends(api_version)],
)


@router.get("")
@router.get("/", include_in_schema=False)
def list_zones(request: Request) -> dict:
    enforce(request, "availability_zones:get_all")
    zones = request.app.state.cluster.zones()
    return {"availability_zones": [{"availability_zone": z} for z in zones], "next": None}
