from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.models import Resources
from runner.runtimes.hugetlbfs import HugePageMounts, mount_options, wanted_pages


def test_a_capsule_mount_is_limited_to_the_pages_it_asked_for():
    assert wanted_pages(Resources(hugepages_2m_pages=4)) == {"2m": 4}
    assert wanted_pages(Resources(hugepages_2m_pages=2, hugepages_1g_pages=1)) == {"2m": 2, "1g": 1}
    assert mount_options("2m", 4) == "pagesize=2M,size=8388608,mode=1777"
    assert mount_options("1g", 1) == "pagesize=1G,size=1073741824,mode=1777"


def test_clean_stale_keeps_only_live_capsules(tmp_path: Path):
    mounts = HugePageMounts(tmp_path)
    for name in ("live-uuid-2m", "gone-uuid-2m", "gone-uuid-1g"):
        (tmp_path / name).mkdir()
    mounts.clean_stale({"live-uuid"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live-uuid-2m"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a hugetlbfs needs root")
def test_mount_is_sized_and_goes_with_release(tmp_path: Path):
    mounts = HugePageMounts(tmp_path / "hp")
    binds = mounts.mount("cap-1", Resources(hugepages_2m_pages=3))
    path = tmp_path / "hp" / "cap-1-2m"
    assert binds == [f"{path}:/dev/hugepages"]
    line = next(
        ln for ln in Path("/proc/mounts").read_text().splitlines() if ln.split()[1] == str(path)
    )
    assert line.split()[2] == "hugetlbfs" and "size=6291456" in line
    assert (
        mounts.mount("cap-1", Resources(hugepages_2m_pages=3)) == binds
    )  # a retry mounts nothing twice
    assert (
        sum(ln.split()[1] == str(path) for ln in Path("/proc/mounts").read_text().splitlines()) == 1
    )
    mounts.release("cap-1")
    assert not path.exists() and str(path) not in Path("/proc/mounts").read_text()
