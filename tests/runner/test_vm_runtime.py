"""The VM runtime's failures, on real QEMU (TCG) without the rest of the stack:
a guest that never boots, and one that panics, fail with their console lines
and leave no QEMU process and no files behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import docker
import pytest

from runner.capsule_run import InitFailed
from runner.errors import InvalidSpec, RuntimeFailure
from runner.models import CapsuleSpec, ContainerSpec, Resources, VolumeMount
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.vm import CACHE_SUFFIX, QEMU, VmRun, VmRuntime
from runner.runtimes.vm_image import Console, GuestPlan, parse_console
from runner.settings import Settings

pytestmark = [pytest.mark.docker, pytest.mark.timeout(120)]

SPEC = CapsuleSpec(
    containers=(
        ContainerSpec(
            image="busybox:latest", command=("true",), resources=Resources(cpu=1, memory_mb=128)
        ),
    ),
    runtime="vm",
)


@pytest.fixture
def vm(tmp_path):
    settings = Settings(data_dir=tmp_path)
    runtime = VmRuntime(
        docker=DockerRuntime(url=settings.docker_url, instance="vmtest", node="vmtest"),
        kernel=settings.vm_kernel,
        cache_dir=tmp_path / "images",
        run_dir=tmp_path / "runs",
    )
    if not runtime.available():
        pytest.fail(
            f"{QEMU} or the kernel {settings.vm_kernel} is missing: scripts/setup.sh installs both"
        )
    runtime.start()
    return runtime


def _qemu_alive(run: VmRun) -> bool:
    return run._proc is not None and run._proc.poll() is None  # noqa: SLF001 - the process is what the test is about


def test_a_guest_that_does_not_boot_in_time_fails_with_its_console_and_is_gone(vm):
    vm.boot_timeout_s = 0.3  # far less than any boot takes
    run = VmRun(vm, capsule_id="never-boots", spec=SPEC)
    with pytest.raises(
        RuntimeFailure,
        match=r"did not boot within 0.3 s \(tcg\); last console lines: .*SeaBIOS|did not boot within 0.3 s \(tcg\); last console lines",
    ):
        run.start()
    assert not _qemu_alive(run)
    run.remove()
    assert not run._dir.exists()  # noqa: SLF001


def test_a_guest_that_panics_fails_with_the_panic_and_is_gone(vm, tmp_path):
    run = VmRun(vm, capsule_id="panics", spec=SPEC)
    broken = tmp_path / "not-an-initramfs.cpio.gz"
    broken.write_bytes(os.urandom(4096))
    vm.rootfs = lambda image: (
        broken
    )  # an image part the kernel cannot unpack: no /init, a kernel panic
    started = time.monotonic()
    with pytest.raises(RuntimeFailure, match="stopped before its init ran") as failed:
        run.start()
    assert "Kernel panic - not syncing" in failed.value.message, failed.value.message
    assert time.monotonic() - started < 60 and not _qemu_alive(run)
    run.remove()
    assert not Path(run._dir).exists()  # noqa: SLF001


def _capsule(
    *apps: ContainerSpec, inits: tuple[ContainerSpec, ...] = (), volumes: tuple[str, ...] = ()
) -> CapsuleSpec:
    return CapsuleSpec(containers=apps, init_containers=inits, volumes=volumes, runtime="vm")


def _sh(name: str, script: str, *, mounts: tuple = ()) -> ContainerSpec:  # noqa: ANN001
    return ContainerSpec(
        image="busybox:latest",
        command=("sh", "-c", script),
        name=name,
        resources=Resources(cpu=0.5, memory_mb=64),
        mounts=mounts,
    )


def test_a_whole_capsule_runs_in_one_vm(vm):
    """An init container seeds a shared volume; two app containers (the same image, each in a root of
    its own) talk over the guest's loopback; the logs come back per container; the capsule's exit code
    is its first failing app's."""
    data = (VolumeMount(volume="shared", path="/data"),)
    spec = _capsule(
        _sh("server", "nc -l -p 8080 -e cat /data/seed; echo served; touch /mine", mounts=data),
        _sh(
            "client",
            'for i in 1 2 3 4 5 6 7 8 9 10; do out=$(nc 127.0.0.1 8080 </dev/null 2>/dev/null) && [ -n "$out" ] && break; sleep 0.5; done;'
            " echo got $out; [ -e /mine ] && echo shared-root; exit 4",
        ),
        inits=(_sh("seed", "echo seeded > /data/seed; echo init done", mounts=data),),
        volumes=("shared",),
    )
    run = VmRun(vm, capsule_id="capsule-in-vm", spec=spec)
    try:
        assert run.start()
        assert run.wait(deadline=time.time() + 90) == 4
        assert (
            run.logs()
            == b"==> seed <==\ninit done\n==> server <==\nserved\n==> client <==\ngot seeded\n"
        )
        assert run.app_states() == {"server": "exited", "client": "exited"}
    finally:
        run.remove()
    assert not _qemu_alive(run)


def test_a_failing_init_container_stops_the_capsule_and_is_named(vm):
    spec = _capsule(_sh("app", "echo never"), inits=(_sh("prepare", "echo preparing; exit 3"),))
    run = VmRun(vm, capsule_id="init-fails-in-vm", spec=spec)
    try:
        assert run.start()
        with pytest.raises(InitFailed, match="init container prepare exited with 3"):
            run.wait(deadline=time.time() + 90)
        assert run.logs() == b"==> prepare <==\npreparing\n==> app <==\n"
    finally:
        run.remove()


@pytest.mark.parametrize(
    ("console", "expected"),
    [
        pytest.param(
            b"SeaBIOS\r\nZUNRAY-BOOTED\r\nZR|0|hi\r\nZR|1|a|b\r\nZUNRAY-APP-START 1\r\n[ 1.2] kernel says\r\nZUNRAY-APP-EXIT 1 5\r\nZUNRAY-EXIT 5\r\n",
            {
                "output": {0: [b"hi"], 1: [b"a|b"]},
                "app_exits": {1: 5},
                "apps_running": set(),
                "exit_code": 5,
            },
            id="output-split-by-container",
        ),
        pytest.param(
            b"ZR|0|before boot\nZUNRAY-BOOTED\nZR|0|ZUNRAY-MISSING 0 no-such-tool\nZUNRAY-APP-START 0\n",
            {
                "output": {0: [b"ZUNRAY-MISSING 0 no-such-tool"]},
                "missing": (0, "no-such-tool"),
                "apps_running": {0},
                "exit_code": None,
            },
            id="missing-program",
        ),
        pytest.param(
            b"ZUNRAY-BOOTED\nZUNRAY-INIT-FAILED 0 3\nZUNRAY-EXIT 3\n",
            {"init_failed": (0, 3), "exit_code": 3},
            id="init-failed",
        ),
    ],
)
def test_the_console_is_read_back_by_container(console, expected):
    said = parse_console(console)
    assert said.booted
    for field, value in expected.items():
        got = (
            {i: said.lines_of(i) for i in said.output}
            if field == "output"
            else getattr(said, field)
        )
        assert got == value, field


def test_the_console_keeps_a_bounded_tail_of_each_container_fed_in_pieces():
    said = Console(max_bytes=20)
    said.feed(b"ZUNRAY-BOOTED\nZR|0|first line\nZR|0|sec")
    assert said.lines_of(0) == [b"first line"]  # the unfinished line waits for its end
    said.feed(b"ond line\nZR|0|third line\nZUNRAY-EXIT 0\n")
    assert (
        said.lines_of(0) == [b"third line"] and said.exit_code == 0
    )  # older lines dropped past 20 bytes
    said.feed(b"ZUNRAY-EXIT not-a-number\n")  # never raises on a line it cannot read
    assert said.exit_code == 0


def test_an_environment_name_a_shell_cannot_set_is_refused_not_run():
    spec = _capsule(
        ContainerSpec(
            image="busybox:latest",
            command=("true",),
            name="app",
            env={"OK_NAME": "1", "X;reboot": "1"},
        )
    )
    with pytest.raises(
        InvalidSpec,
        match="container app: environment variable names a VM's shell cannot set: 'X;reboot'",
    ):
        GuestPlan(spec=spec, image_ids=("a" * 64,)).run_cpio()


def test_hard_links_in_an_image_work_in_the_guest(vm, tmp_path):
    """Debian images have hard links (perl5.36.0 is perl): the guest must run the linked file, not an empty one."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add(name: str, data: bytes = b"", **kw) -> None:  # noqa: ANN003
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), kw.pop("mode", 0o755)
            for k, v in kw.items():
                setattr(info, k, v)
            tar.addfile(info, io.BytesIO(data) if data else None)

        add("bin", type=tarfile.DIRTYPE)
        add("bin/busybox", Path("/bin/busybox").read_bytes())
        add("bin/sh", type=tarfile.SYMTYPE, linkname="busybox")
        add("bin/greet", b"#!/bin/sh\necho hello through a hard link\n")
        add("bin/greet-again", type=tarfile.LNKTYPE, linkname="bin/greet")
    image = "zunray-test/hardlinks:latest"
    engine = docker.from_env()
    engine.api.import_image_from_data(
        buf.getvalue(), repository="zunray-test/hardlinks", tag="latest"
    )
    try:
        spec = _capsule(
            ContainerSpec(
                image=image,
                command=("greet-again",),
                name="app",
                resources=Resources(cpu=1, memory_mb=64),
            )
        )
        run = VmRun(vm, capsule_id="hardlinks", spec=spec)
        try:
            assert run.start()
            assert run.wait(deadline=time.time() + 90) == 0
            assert run.logs() == b"hello through a hard link\n"
        finally:
            run.remove()
    finally:
        engine.images.remove(image, force=True)
        engine.close()


def test_the_root_filesystem_cache_keeps_to_its_size_dropping_the_least_recently_used(vm):
    vm.cache_max_mb = 0  # nothing beyond the image just built
    old = vm.cache_dir / f"{'0' * 64}{CACHE_SUFFIX}"
    vm.cache_dir.mkdir(parents=True, exist_ok=True)
    old.write_bytes(b"x" * 1024)
    built = vm.rootfs("busybox:latest")
    assert built.exists() and not old.exists()
    assert vm.rootfs("busybox:latest") == built  # a hit: not rebuilt, not dropped
