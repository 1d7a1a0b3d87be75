"""The disk a host reports is the filesystem holding Docker's data root."""

from __future__ import annotations

import shutil

from runner.runtimes.data_root import data_root_disk_gb


def test_the_disk_is_the_filesystem_of_the_path(tmp_path):
    usage = shutil.disk_usage(tmp_path)
    total, used = data_root_disk_gb(str(tmp_path))
    assert total == usage.total >> 30 and abs(used - (usage.used >> 30)) <= 1


def test_a_data_root_not_visible_here_reports_no_disk(tmp_path):
    assert data_root_disk_gb(str(tmp_path / "absent")) == (0, 0)
    assert data_root_disk_gb("") == (0, 0)
