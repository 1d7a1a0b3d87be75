"""The VM runtime: one QEMU virtual machine per capsule (``runtime: vm``).

The guest runs Debian's cloud kernel (``scripts/fetch_vm_kernel.sh`` unpacks it
with ``dpkg -x``; no boot loader) and an initramfs made of the capsule's image
(``runner/runtimes/vm_image.py``). cpus and memory become vcpus and guest
memory; output and the exit code come back over the serial console. A guest
that does not reach init within ``vm_boot_timeout_s`` is killed and fails with
its last console lines. QEMU gets SIGKILL when its node actor dies (no VM
outlives what started it), and its temporary files go with the capsule.

``VmRun`` has the part of ``CapsuleRun``'s interface that jobs use, so the node
actor runs a VM job exactly like a container job.
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
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from runner.errors import RuntimeFailure
from runner.models import CapsuleSpec
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.vm_image import BOOTED, EXIT, MISSING, rootfs_cpio, run_cpio

QEMU = "qemu-system-x86_64"
ANSI_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|c)")
POLL_S = 0.02
CONSOLE_TAIL = 800
MIN_GUEST_MB = 64


def _die_with_parent() -> None:
    """In the QEMU child: SIGKILL when the node actor's process ends (PR_SET_PDEATHSIG)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


class VmRuntime:
    """QEMU and a kernel on one host, and the images turned into root filesystems."""

    def __init__(self, *, docker: DockerRuntime, kernel: Path, cache_dir: Path, accel: str = "tcg", boot_timeout_s: float = 60.0) -> None:
        self.docker = docker
        self.kernel = kernel
        self.cache_dir = cache_dir
        self.accel_setting = accel
        self.boot_timeout_s = boot_timeout_s
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qemu-spawner")

    def spawn(self, cmd: list[str], *, stdout) -> subprocess.Popen:  # noqa: ANN001
        """Start QEMU from one long-lived thread: PR_SET_PDEATHSIG fires when the *thread*
        that forked the child ends, and jobs' and actions' threads come and go."""
        return self._spawner.submit(
            subprocess.Popen, cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent  # noqa: PLW1509
        ).result()

    def available(self) -> bool:
        return shutil.which(QEMU) is not None and self.kernel.is_file()

    @property
    def accel(self) -> str:
        """kvm or tcg; ``auto`` takes KVM where /dev/kvm opens (nested KVM may stall: tcg is the default)."""
        if self.accel_setting == "auto":
            return "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"
        return self.accel_setting

    def rootfs(self, image: str) -> Path:
        """The image's files as an initramfs part, cached by image id."""
        image_id = self.docker.image_id(image).replace("sha256:", "")
        dest = self.cache_dir / f"{image_id}.cpio.gz"
        if dest.exists():
            return dest
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with self.docker.exported(image) as stream:
            rootfs_cpio(stream, dest)
        return dest


class VmRun:
    """One capsule in one VM (its first app container's image and command)."""

    def __init__(self, vm: VmRuntime, *, capsule_id: str, spec: CapsuleSpec, attempt: int = 0) -> None:
        self.vm = vm
        self.attempt = attempt
        self.capsule_id = capsule_id
        self.spec = spec
        self.cpuset: tuple[str | None, str | None] = (None, None)  # not used: vcpus are threads of QEMU
        self.containers: list = []  # no containers: nothing to adopt after a node restart
        self._dir: Path | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def _console(self) -> Path:
        assert self._dir is not None
        return self._dir / "console.log"

    def start(self, *, deadline: float | None = None) -> bool:
        """Boot the VM; returns once its init runs. False if ``deadline`` passed first."""
        main = self.spec.containers[0]
        self.vm.docker.ensure_image(main.image, main.pull_policy)
        self._dir = Path(tempfile.mkdtemp(prefix=f"zunray-vm-{self.capsule_id[:8]}-"))
        initrd = self._dir / "initrd"
        with open(initrd, "wb") as out:
            with open(self.vm.rootfs(main.image), "rb") as part:
                shutil.copyfileobj(part, out)
            out.write(run_cpio(list(main.command), dict(main.env), main.workdir))
        res = main.resources
        cmd = [
            QEMU, "-machine", f"q35,accel={self.vm.accel}", "-cpu", "max", "-smp", str(max(1, math.ceil(res.cpu))), "-m", str(max(MIN_GUEST_MB, res.memory_mb)),
            "-kernel", str(self.vm.kernel), "-initrd", str(initrd), "-append", "console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init",
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
        ]
        with open(self._console, "wb") as console:
            self._proc = self.vm.spawn(cmd, stdout=console)
        boot_by = time.monotonic() + self.vm.boot_timeout_s
        while BOOTED.encode() not in self._console.read_bytes():
            if self._proc.poll() is not None:
                raise RuntimeFailure(f"the VM stopped before its init ran (QEMU exit {self._proc.returncode}); last console lines: {self._tail()}")
            if time.monotonic() > boot_by:
                self.kill()
                raise RuntimeFailure(f"the VM did not boot within {self.vm.boot_timeout_s:g} s ({self.vm.accel}); last console lines: {self._tail()}")
            if deadline is not None and time.time() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def wait(self, *, deadline: float | None = None) -> int | None:
        """The command's exit code; None if ``deadline`` passed (the VM still runs)."""
        assert self._proc is not None
        while self._proc.poll() is None:
            if deadline is not None and time.time() > deadline:
                return None
            time.sleep(POLL_S)
        lines = self._console.read_bytes().decode(errors="replace").replace("\r", "").splitlines()
        if missing := [line for line in lines if line.startswith(MISSING)]:
            raise RuntimeFailure(f"the image has no {missing[-1].removeprefix(MISSING).strip()} (looked up in the guest's PATH)")
        for line in reversed(lines):
            if line.startswith(EXIT):
                return int(line.split()[1])
        raise RuntimeFailure(f"the VM stopped without an exit code (killed or panicked); last console lines: {self._tail()}")

    def exit_code(self) -> int | None:
        """None while the VM runs; then its command's exit code (-1 when it gave none)."""
        if self._proc is None or self._proc.poll() is None:
            return None
        try:
            return self.wait()
        except RuntimeFailure:
            return -1

    def logs(self) -> bytes:
        """What the command wrote, between the boot and exit markers."""
        if self._dir is None or not self._console.exists():
            return b""
        text = self._console.read_bytes().replace(b"\r\n", b"\n")
        start = text.find(BOOTED.encode())
        body = text[start + len(BOOTED) + 1 :] if start >= 0 else b""
        end = body.rfind(EXIT.encode())
        return body[:end] if end >= 0 else body

    def _tail(self) -> str:
        """The console's last lines, without the firmware's terminal escapes."""
        text = self._console.read_bytes().decode(errors="replace") if self._dir and self._console.exists() else ""
        lines = [line for line in ANSI_ESCAPE.sub("", text).replace("\r", "").splitlines() if line.strip()]
        panic = [line.strip() for line in lines if "Kernel panic" in line]
        tail = " | ".join(lines)[-CONSOLE_TAIL:] or "(nothing)"
        return f"{panic[0]} ... {tail}" if panic else tail

    def oom_killed(self) -> bool:
        return False

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)

    def remove(self) -> None:
        """Stop QEMU and delete the VM's files (initrd, console log)."""
        self.kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def app_ids(self) -> list[str]:
        return []

