"""The disk of a Docker engine's data root, as a host reports it (Zun's ``disk_total``/``disk_used``)."""

from __future__ import annotations

import shutil

GIB = 1 << 30


def data_root_disk_gb(path: str) -> tuple[int, int]:
    """Total and used GB of the filesystem holding ``path`` (Docker's ``DockerRootDir``).

    (0, 0) when the path is not visible from here (an engine on another machine or in another
    mount namespace): a host shows no disk rather than another filesystem's (Zun falls back to
    ``/``, which on such hosts is not where the containers' layers live).
    """
    if not path:
        return 0, 0
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return 0, 0
    return usage.total // GIB, usage.used // GIB
