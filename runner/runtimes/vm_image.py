"""A capsule's image as a VM's root filesystem: an initramfs (newc cpio, gzip).

``docker export`` of the image (cached per image id) plus Zunray's own part:
a static busybox at /zunray/busybox, ``/init`` (mounts, runs the command,
prints the exit marker, powers off) and ``/zunray/cmd`` (the command with its
environment and working directory, shell-quoted). The kernel takes several
concatenated cpio archives, so the per-run part is appended to the cached
image part without unpacking it.
"""

from __future__ import annotations

import gzip
import io
import shlex
import stat
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static: the same file the command protocol mounts
BOOTED, EXIT, MISSING = "ZUNRAY-BOOTED", "ZUNRAY-EXIT", "ZUNRAY-MISSING"

INIT = f"""#!/zunray/busybox sh
B=/zunray/busybox
$B mkdir -p /proc /sys /dev /tmp
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev 2>/dev/null
echo {BOOTED}
$B sh /zunray/cmd
echo "{EXIT} $?"
$B poweroff -f
"""


class CpioWriter:
    """The newc format the kernel unpacks into its initramfs."""

    def __init__(self, out: io.BufferedIOBase) -> None:
        self.out = out
        self.ino = 1

    def add(self, name: str, data: bytes = b"", *, mode: int, rdev: tuple[int, int] = (0, 0)) -> None:
        name_b = name.lstrip("/").encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        self.out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + name_b)
        self.out.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.out.write(data)
        self.out.write(b"\0" * (-len(data) % 4))

    def trailer(self) -> None:
        self.add("TRAILER!!!", mode=0)


def rootfs_cpio(export_tar: io.BufferedIOBase, dest: Path) -> None:
    """The image's files (a ``docker export`` stream) as a gzipped cpio at ``dest``."""
    tmp = dest.with_suffix(".partial")
    with gzip.open(tmp, "wb", compresslevel=1) as out, tarfile.open(fileobj=export_tar, mode="r|") as tar:
        cpio = CpioWriter(out)
        for m in tar:
            perm = m.mode & 0o7777
            if m.isdir():
                cpio.add(m.name, mode=stat.S_IFDIR | perm)
            elif m.issym():
                cpio.add(m.name, m.linkname.encode(), mode=stat.S_IFLNK | 0o777)
            elif m.isfile():
                cpio.add(m.name, tar.extractfile(m).read(), mode=stat.S_IFREG | perm)
            elif m.islnk():  # a hard link: its own copy (the target came earlier in the stream)
                cpio.add(m.name, b"", mode=stat.S_IFREG | perm)  # rare in images; empty rather than wrong
        cpio.trailer()
    tmp.replace(dest)


def run_cpio(command: list[str], env: dict[str, str], workdir: str | None) -> bytes:
    """Zunray's part of the initramfs for one run: busybox, /init and /zunray/cmd."""
    lines = ["export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    if workdir:
        lines.append(f"cd {shlex.quote(workdir)} || {{ echo '{MISSING} workdir {workdir}'; exit 127; }}")
    program = command[0] if command else "sh"
    lines.append(f"command -v {shlex.quote(program)} >/dev/null 2>&1 || {{ echo '{MISSING} {program}'; exit 127; }}")
    lines.append("exec " + " ".join(shlex.quote(a) for a in (command or ["sh"])))
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1) as out:
        cpio = CpioWriter(out)
        cpio.add("dev", mode=stat.S_IFDIR | 0o755)
        cpio.add("dev/console", mode=stat.S_IFCHR | 0o600, rdev=(5, 1))  # init's stdout: the serial console
        cpio.add("zunray", mode=stat.S_IFDIR | 0o755)
        cpio.add("zunray/busybox", BUSYBOX.read_bytes(), mode=stat.S_IFREG | 0o755)
        cpio.add("zunray/cmd", ("\n".join(lines) + "\n").encode(), mode=stat.S_IFREG | 0o644)
        cpio.add("init", INIT.encode(), mode=stat.S_IFREG | 0o755)
        cpio.trailer()
    return buf.getvalue()
