"""A hugetlbfs of its own for each capsule that asks for huge pages.

The node mounts one hugetlbfs per capsule and page size under its own
directory, limited (``size=``) to the pages the capsule asked for, and binds it
at the usual path in the app containers. The host's ``/dev/hugepages`` is never
bound: one tenant never sees another's huge page files nor fills the pool past
its claim through the filesystem. Mounts go when the capsule ends; a node
actor starting removes those whose capsule has no container left.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

from runner.errors import RuntimeFailure
from runner.models import Resources

log = logging.getLogger(__name__)

PAGE_BYTES = {"2m": 2 << 20, "1g": 1 << 30}
_PAGESIZE = {"2m": "2M", "1g": "1G"}
#: page size -> where the app containers find their hugetlbfs
CONTAINER_PATHS = {"2m": "/dev/hugepages", "1g": "/dev/hugepages1G"}
_MOUNT_TIMEOUT_S = 10.0


def wanted_pages(res: Resources) -> dict[str, int]:
    """Pages asked per size, only the sizes asked."""
    return {
        size: n for size, n in (("2m", res.hugepages_2m_pages), ("1g", res.hugepages_1g_pages)) if n
    }


def mount_options(size: str, pages: int) -> str:
    """hugetlbfs options: that page size, at most ``pages`` of them; any user of the
    container may create files (the mount is the capsule's alone)."""
    return f"pagesize={_PAGESIZE[size]},size={pages * PAGE_BYTES[size]},mode=1777"


class HugePageMounts:
    """The per-capsule hugetlbfs mounts of one node, under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mount(self, capsule_id: str, res: Resources) -> list[str]:
        """Mount the capsule's hugetlbfs (one per size asked); its binds "host:container"."""
        binds = []
        for size, pages in wanted_pages(res).items():
            path = self.root / f"{capsule_id}-{size}"
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not os.path.ismount(path):  # a retry of the same capsule mounts nothing twice
                _run(
                    [
                        "mount",
                        "-t",
                        "hugetlbfs",
                        "-o",
                        mount_options(size, pages),
                        "none",
                        str(path),
                    ],
                    f"cannot mount a hugetlbfs of {pages} {size} pages",
                )
            binds.append(f"{path}:{CONTAINER_PATHS[size]}")
        return binds

    def release(self, capsule_id: str) -> None:
        """Unmount and remove the capsule's hugetlbfs mounts (none is fine)."""
        for size in PAGE_BYTES:
            self._remove(self.root / f"{capsule_id}-{size}")

    def clean_stale(self, keep: set[str]) -> None:
        """Remove every mount whose capsule is not in ``keep`` (after a node actor restart)."""
        if not self.root.is_dir():
            return
        for path in self.root.iterdir():
            if path.name.rsplit("-", 1)[0] not in keep:
                self._remove(path)

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            if os.path.ismount(path):
                # lazy: a container still being torn down must not keep the mount (and the pages) forever
                _run(["umount", "-l", str(path)], "cannot unmount a hugetlbfs")
            path.rmdir()
        except FileNotFoundError:
            pass
        except (OSError, RuntimeFailure) as exc:
            log.warning("cannot remove the hugetlbfs at %s: %s", path, exc)


def _run(argv: list[str], what: str) -> None:
    """Run mount or umount; the reason goes to the log (it names host paths), not to the user."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_MOUNT_TIMEOUT_S)
        error = done.stderr.strip()[:500] if done.returncode != 0 else ""
    except (OSError, subprocess.TimeoutExpired) as exc:
        error = str(exc)
    if error:
        log.warning("%s: %s", " ".join(argv), error)
        raise RuntimeFailure(f"{what} on this host (see the node's log)")


_HUGEPAGE_SYSFS = {"2m": "hugepages-2048kB", "1g": "hugepages-1048576kB"}


def hugepages_inventory(sysfs: Path = Path("/sys/kernel/mm/hugepages")) -> dict[str, int]:
    """Huge pages the host set aside, per size (each capsule gets a hugetlbfs of its own:
    the host needs no hugetlbfs mount of its own)."""
    out = {}
    for size, name in _HUGEPAGE_SYSFS.items():
        try:
            out[size] = int((sysfs / name / "nr_hugepages").read_text())
        except (OSError, ValueError):
            out[size] = 0
    return out
