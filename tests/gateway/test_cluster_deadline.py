"""A call into the cluster that does not answer in time is 503 with a clear message, not a hang."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.cluster import Cluster
from runner.errors import Unavailable
from runner.settings import Settings


def test_a_call_past_its_deadline_is_unavailable_saying_so(tmp_path) -> None:  # noqa: ANN001
    cluster = Cluster(Settings(data_dir=tmp_path))
    began = time.monotonic()
    with pytest.raises(
        Unavailable, match=r"did not answer within 0.2 s; the operation may still complete"
    ):
        asyncio.run(cluster.call(asyncio.sleep(30), timeout_s=0.2))
    assert time.monotonic() - began < 2
