"""The VM runtime: one QEMU virtual machine per capsule (``runtime: vm``).

The guest runs Debian's cloud kernel (``scripts/fetch_vm_kernel.sh`` unpacks it
with ``dpkg -x``; no boot loader) and an initramfs made of the capsule's image
(``runner/runtimes/vm_image.py``). cpus and memory become vcpus and guest
memory; output and the exit code come back over the serial console, QEMU's
stdout, read by a thread as it comes into a bounded ``Console`` (each
container's last ``log_max_bytes``). A guest that does not reach init within
``vm_boot_timeout_s`` is killed and fails with its last console lines. The
guest's memory is what the capsule asked for plus its kernel's share and its
containers' root files (they live in RAM). QEMU gets SIGKILL when its node
actor dies (no VM outlives what started it), and its temporary files go with
the capsule (or, after a crash, when the next node actor starts and calls
``VmRuntime.start()``: they live in ``run_dir``).

A whole capsule runs in one VM: its init containers, then its app containers
together, each in a root of its own made from its image (see ``vm_image``).
``VmRun`` has the part of ``CapsuleRun``'s interface that jobs use, so the node
actor runs a VM job exactly like a container job, and tells a Zun capsule's
members' states from the console.
"""

from __future__ import annotations

import ctypes
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runner.capsule_run import InitFailed
from runner.errors import RuntimeFailure
from runner.log_tail import LogTail
from runner.models import CapsuleSpec
from runner.runtimes import docker_images
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.vm_image import Console, GuestPlan, rootfs_cpio

QEMU = "qemu-system-x86_64"
ANSI_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|c)")
POLL_S = 0.02
CONSOLE_TAIL = 800
CACHE_SUFFIX = ".v3.cpio.gz"  # v3: files under /zunray/images/<id>, hard links as symbolic links
GUEST_KERNEL_MB = (
    64  # the guest kernel's own memory, beyond what the capsule asked (64 MB alone did not boot)
)


def _die_with_parent() -> None:
    """In the QEMU child: SIGKILL when the node actor's process ends (PR_SET_PDEATHSIG)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


class VmRuntime:
    """QEMU and a kernel on one host, and the images turned into root filesystems."""

    def __init__(
        self,
        *,
        docker: DockerRuntime,
        kernel: Path,
        cache_dir: Path,
        run_dir: Path,
        accel: str = "tcg",
        boot_timeout_s: float = 60.0,
        cache_max_mb: int = 4096,
    ) -> None:
        self.docker = docker
        self.kernel = kernel
        self.cache_dir = cache_dir
        self.cache_max_mb = (
            cache_max_mb  # the root filesystems kept, least recently used dropped first
        )
        self._building: dict[str, threading.Lock] = defaultdict(
            threading.Lock
        )  # one build per image at a time
        self.run_dir = (
            run_dir  # one directory per running VM (its initrd, its console); this node's alone
        )
        self.accel_setting = accel
        self.boot_timeout_s = boot_timeout_s
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qemu-spawner")

    def start(self) -> None:
        """Clear what earlier VMs of this node left: they died with the node actor that started them."""
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.cache_dir.glob(
            "*.cpio.gz"
        ):  # made by an earlier layout: never read again
            if not stale.name.endswith(CACHE_SUFFIX):
                stale.unlink(missing_ok=True)

    def spawn(self, cmd: list[str], *, stdout) -> subprocess.Popen:  # noqa: ANN001
        """Start QEMU from one long-lived thread: PR_SET_PDEATHSIG fires when the *thread*
        that forked the child ends, and jobs' and actions' threads come and go."""
        return self._spawner.submit(
            subprocess.Popen,
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        ).result()

    def available(self) -> bool:
        return shutil.which(QEMU) is not None and self.kernel.is_file()

    @property
    def accel(self) -> str:
        """kvm or tcg; ``auto`` takes KVM where /dev/kvm opens (nested KVM may stall: tcg is the default)."""
        if self.accel_setting == "auto":
            return "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"
        return self.accel_setting

    @staticmethod
    def unpacked_mb(part: Path) -> int:
        """MB an initramfs part takes once unpacked in the guest's memory (gzip's ISIZE field: the size mod 4 GiB)."""
        with open(part, "rb") as f:
            f.seek(-4, os.SEEK_END)
            return math.ceil(int.from_bytes(f.read(4), "little") / 2**20)

    def rootfs(self, image: str) -> Path:
        """The image's files as an initramfs part, cached by image id (the cache kept under ``cache_max_mb``)."""
        image_id = docker_images.image_id(self.docker, image).replace("sha256:", "")
        dest = self.cache_dir / f"{image_id}{CACHE_SUFFIX}"
        with self._building[image_id]:
            if dest.exists():
                os.utime(dest)  # used now: the last to be dropped
                return dest
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            with docker_images.exported(self.docker, image) as stream:
                rootfs_cpio(stream, dest, image_id=image_id)
        self._trim_cache(keep=dest)
        return dest

    def _trim_cache(self, *, keep: Path) -> None:
        """Drop the least recently used root filesystems until the cache fits (a VM that is booting has its own copy)."""
        files = sorted(self.cache_dir.glob(f"*{CACHE_SUFFIX}"), key=lambda f: f.stat().st_mtime)
        total = sum(f.stat().st_size for f in files)
        for f in files:
            if total <= self.cache_max_mb * 2**20:
                break
            if f != keep:
                total -= f.stat().st_size
                f.unlink(missing_ok=True)


class VmRun:
    """One capsule in one VM."""

    def __init__(
        self,
        vm: VmRuntime,
        *,
        capsule_id: str,
        spec: CapsuleSpec,
        attempt: int = 0,
        restart: str = "no",
    ) -> None:
        self.vm = vm
        self.attempt = attempt
        self.capsule_id = capsule_id
        self.spec = spec
        self.restart = (
            restart  # the app containers' restart policy, inside the guest (Zun capsules)
        )
        self.cpuset: tuple[str | None, str | None] = (
            None,
            None,
        )  # not used: vcpus are threads of QEMU
        self.containers: list = []  # no containers: nothing to adopt after a node restart
        self._names = [
            c.name for c in (*spec.init_containers, *spec.containers)
        ]  # guest index -> name
        self._dir: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._said = Console(
            max_bytes=vm.docker.log_max_bytes
        )  # the serial console, read as it comes (bounded)
        self._said_lock = threading.Lock()
        self._console_ended = threading.Event()
        self.output: LogTail | None = (
            None  # set (jobs): the containers' output by offset, as the console brings it
        )
        self._said.on_output = self._to_output
        self.progress: Callable[[str], None] = lambda _: None  # set (jobs): how far the start got

    def _to_output(self, index: int, line: bytes) -> None:
        if self.output is not None:
            self.output.write(
                line + b"\n", source=self._names[index] if len(self._names) > 1 else None
            )

    def drain_output(self, timeout_s: float = 5.0) -> None:
        """Nothing to wait for: the console is read to its end before the run's outcome is known (``wait``, ``kill``)."""

    def _read_console(self) -> None:
        """QEMU's serial console (its stdout) into ``_said`` until QEMU ends."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        try:
            while data := os.read(fd, 1 << 16):
                with self._said_lock:
                    self._said.feed(data)
        finally:
            with self._said_lock:
                self._said.close()
            self._proc.stdout.close()
            self._console_ended.set()

    def _booted(self) -> bool:
        with self._said_lock:
            return self._said.booted

    def start(self, *, deadline: float | None = None) -> bool:
        """Boot the VM; returns once its init runs. False if ``deadline`` passed first."""
        containers = (*self.spec.init_containers, *self.spec.containers)
        for c in containers:
            self.vm.docker.ensure_image(c.image, c.pull_policy, progress=self.progress)
        ids = {
            image: docker_images.image_id(self.vm.docker, image)
            for image in dict.fromkeys(c.image for c in containers)
        }  # one look per image
        image_ids = tuple(ids[c.image] for c in containers)
        self._dir = Path(
            tempfile.mkdtemp(prefix=f"zunray-vm-{self.capsule_id[:8]}-", dir=self.vm.run_dir)
        )
        initrd = self._dir / "initrd"
        self.progress("building the VM's root filesystem")
        parts = {
            image: self.vm.rootfs(image) for image in dict.fromkeys(c.image for c in containers)
        }  # each image's files once
        with open(initrd, "wb") as out:
            for part in parts.values():
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
            out.write(
                GuestPlan(spec=self.spec, image_ids=image_ids, restart=self.restart).run_cpio()
            )
        res = self.spec.demand()
        # the guest holds its kernel and every container's root files in memory, beside what the capsule asked for
        memory_mb = (
            res.memory_mb
            + GUEST_KERNEL_MB
            + sum(self.vm.unpacked_mb(parts[c.image]) for c in containers)
        )
        cmd = [
            QEMU,
            "-machine",
            f"q35,accel={self.vm.accel}",
            "-cpu",
            "max",
            "-smp",
            str(max(1, math.ceil(res.cpu))),
            "-m",
            str(memory_mb),
            "-kernel",
            str(self.vm.kernel),
            "-initrd",
            str(initrd),
            "-append",
            "console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init",
            "-nographic",
            "-no-reboot",
            "-nodefaults",
            "-serial",
            "stdio",
            "-monitor",
            "none",
        ]
        self.progress(f"booting VM ({self.vm.accel})")
        self._proc = self.vm.spawn(cmd, stdout=subprocess.PIPE)
        threading.Thread(
            target=self._read_console, name=f"vm-console-{self.capsule_id[:8]}", daemon=True
        ).start()
        boot_by = time.monotonic() + self.vm.boot_timeout_s
        while not self._booted():
            if self._console_ended.is_set():  # QEMU ended; the console was read to its end
                if self._booted():
                    break  # booted, ran and powered off between two looks: wait() tells how it ended
                self._proc.wait(timeout=10)
                raise RuntimeFailure(
                    f"the VM stopped before its init ran (QEMU exit {self._proc.returncode}); last console lines: {self._tail()}"
                )
            if time.monotonic() > boot_by:
                self.kill()
                raise RuntimeFailure(
                    f"the VM did not boot within {self.vm.boot_timeout_s:g} s ({self.vm.accel}); last console lines: {self._tail()}"
                )
            if deadline is not None and time.time() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def wait(self, *, deadline: float | None = None) -> int | None:
        """The capsule's exit code (its first app's non-zero exit, else 0); None if ``deadline`` passed (the VM still runs)."""
        assert self._proc is not None
        while not self._console_ended.wait(POLL_S):  # the console ends when QEMU does
            if deadline is not None and time.time() > deadline:
                return None
        self._proc.wait(timeout=10)
        said = self._said  # complete: nothing feeds it any more
        if said.missing is not None:
            index, what = said.missing
            whose = f"container {self._names[index]}: " if len(self._names) > 1 else ""
            raise RuntimeFailure(f"{whose}the image has no {what} (looked up in the guest's PATH)")
        if said.init_failed is not None:
            raise InitFailed(self._names[said.init_failed[0]], said.init_failed[1])
        if said.exit_code is not None:
            return said.exit_code
        raise RuntimeFailure(
            f"the VM stopped without an exit code (killed or panicked); last console lines: {self._tail()}"
        )

    def exit_code(self) -> int | None:
        """None while the VM runs; then its capsule's exit code (-1 when it gave none)."""
        if self._proc is None or not self._console_ended.is_set():
            return None
        try:
            return self.wait()
        except RuntimeFailure:
            return -1

    def app_states(self) -> dict[str, str]:
        """Each app container's Docker-like state: running, or exited once it ended (and no restart is under way)."""
        alive = self._proc is not None and not self._console_ended.is_set()
        first_app = len(self.spec.init_containers)
        with self._said_lock:
            said = self._said
            return {
                name: "running"
                if alive and (index in said.apps_running or index not in said.app_exits)
                else "exited"
                for index, name in enumerate(self._names[first_app:], start=first_app)
            }

    def logs(self) -> bytes:
        """What the containers wrote (the last ``log_max_bytes`` of each); with several, each under a header (as ``CapsuleRun.logs``)."""
        with self._said_lock:
            per_container = [self._said.lines_of(i) for i in range(len(self._names))]
        if len(self._names) == 1:
            return b"".join(line + b"\n" for line in per_container[0])
        return b"".join(
            f"==> {name} <==\n".encode() + b"".join(line + b"\n" for line in lines)
            for name, lines in zip(self._names, per_container, strict=True)
        )

    def _tail(self) -> str:
        """The console's last lines, without the firmware's terminal escapes (a kernel panic first)."""
        with self._said_lock:
            raw, panic = list(self._said.tail), self._said.panic
        lines = [
            line
            for line in (ANSI_ESCAPE.sub("", r.decode(errors="replace")) for r in raw)
            if line.strip()
        ]
        tail = " | ".join(lines)[-CONSOLE_TAIL:] or "(nothing)"
        return f"{panic.decode(errors='replace')} ... {tail}" if panic else tail

    def oom_killed(self) -> bool:
        return False

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._console_ended.wait(5)  # read to its end: the VM's state says exited from now on

    def remove(self) -> None:
        """Stop QEMU and delete the VM's files (its initrd)."""
        self.kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def app_ids(self) -> list[str]:
        return []
