"""``GET /`` and ``GET /v1``: the version documents clients negotiate from (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.zun.microversion import MAX_VERSION, MIN_VERSION

router = APIRouter(tags=["zun"])


def _version(request: Request) -> dict:
    base = str(request.base_url).rstrip("/")
    return {
        "id": "v1",
        "links": [{"href": f"{base}/v1/", "rel": "self"}],
        "status": "CURRENT",
        "max_version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
    }


@router.get("/", summary="API versions")
def root(request: Request) -> dict:
    return {
        "name": "OpenStack Zun API",
        "description": "Zun is an OpenStack project which aims to provide containers service.",
        "versions": [_version(request)],
        "default_version": _version(request),
    }


@router.get("/v1", summary="The v1 API")
@router.get("/v1/", include_in_schema=False)
def v1(request: Request) -> dict:
    base = str(request.base_url).rstrip("/")
    resources = (
        "containers",
        "capsules",
        "hosts",
        "services",
        "availability_zones",
        "quotas",
        "quota_classes",
        "registries",
    )
    return {
        **_version(request),
        "media_types": [
            {"base": "application/json", "type": "application/vnd.openstack.zun.v1+json"}
        ],
        **{
            r: [
                {"href": f"{base}/v1/{r}/", "rel": "self"},
                {"href": f"{base}/{r}/", "rel": "bookmark"},
            ]
            for r in resources
        },
    }
