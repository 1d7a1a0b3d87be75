from __future__ import annotations

import time

import pytest
from zunclient import client as zun_client


@pytest.fixture(scope="module")
def zc(zunray):
    """The real python-zunclient, negotiating the newest version from GET /."""
    return zun_client.Client(
        "1.latest", auth_token="noauth-token", endpoint_override=f"{zunray.settings.gateway_url}/v1"
    )


@pytest.fixture
def made(zc):
    """Containers a test creates; all force-deleted afterwards."""
    uuids: list[str] = []
    yield uuids
    for u in uuids:
        try:
            zc.containers.delete(u, force=True)
        except Exception:  # already gone
            pass


def wait_for(zc, uuid: str, *statuses: str, timeout_s: float = 30.0):
    """Poll until the container settles in one of ``statuses`` (no task running)."""
    deadline = time.monotonic() + timeout_s
    while True:
        c = zc.containers.get(uuid)
        if c.status in statuses and c.task_state is None:
            return c
        assert time.monotonic() < deadline, (
            f"container {uuid} is {c.status}/{c.task_state}: {c.status_reason}"
        )
        time.sleep(0.1)
