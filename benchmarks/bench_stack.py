"""The settings of a benchmark's own stack: its own data directory, instance and ports."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from runner.settings import Settings


def bench_settings(*, gateway_port: int, ray_port: int, **overrides: object) -> Settings:
    data_dir = Path(tempfile.mkdtemp(prefix="zunray-bench-"))
    instance = f"bench{uuid.uuid4().hex[:6]}"
    return Settings(
        data_dir=data_dir,
        instance=instance,
        ray_namespace=instance,
        gateway_port=gateway_port,
        ray_port=ray_port,
        **overrides,
    )
