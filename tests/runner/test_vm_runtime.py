"""The VM runtime's failures, on real QEMU (TCG) without the rest of the stack:
a guest that never boots, and one that panics, fail with their console lines
and leave no QEMU process and no files behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from runner.errors import RuntimeFailure
from runner.models import CapsuleSpec, ContainerSpec, Resources
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.vm import QEMU, VmRun, VmRuntime
from runner.settings import Settings

pytestmark = [pytest.mark.docker, pytest.mark.timeout(120)]

SPEC = CapsuleSpec(containers=(ContainerSpec(image="busybox:latest", command=("true",), resources=Resources(cpu=1, memory_mb=128)),), runtime="vm")


@pytest.fixture
def vm(tmp_path):
    settings = Settings(data_dir=tmp_path)
    runtime = VmRuntime(docker=DockerRuntime(url=settings.docker_url, instance="vmtest", node="vmtest"), kernel=settings.vm_kernel, cache_dir=tmp_path / "images")
    if not runtime.available():
        pytest.fail(f"{QEMU} or the kernel {settings.vm_kernel} is missing: scripts/setup.sh installs both")
    return runtime


def _qemu_alive(run: VmRun) -> bool:
    return run._proc is not None and run._proc.poll() is None  # noqa: SLF001 - the process is what the test is about


def test_a_guest_that_does_not_boot_in_time_fails_with_its_console_and_is_gone(vm):
    vm.boot_timeout_s = 0.3  # far less than any boot takes
    run = VmRun(vm, capsule_id="never-boots", spec=SPEC)
    with pytest.raises(RuntimeFailure, match=r"did not boot within 0.3 s \(tcg\); last console lines: .*SeaBIOS|did not boot within 0.3 s \(tcg\); last console lines"):
        run.start()
    assert not _qemu_alive(run)
    run.remove()
    assert not run._dir.exists()  # noqa: SLF001


def test_a_guest_that_panics_fails_with_the_panic_and_is_gone(vm, tmp_path):
    run = VmRun(vm, capsule_id="panics", spec=SPEC)
    broken = tmp_path / "not-an-initramfs.cpio.gz"
    broken.write_bytes(os.urandom(4096))
    vm.rootfs = lambda image: broken  # an image part the kernel cannot unpack: no /init, a kernel panic
    started = time.monotonic()
    with pytest.raises(RuntimeFailure, match="stopped before its init ran") as failed:
        run.start()
    assert "Kernel panic - not syncing" in failed.value.message, failed.value.message
    assert time.monotonic() - started < 60 and not _qemu_alive(run)
    run.remove()
    assert not Path(run._dir).exists()  # noqa: SLF001
