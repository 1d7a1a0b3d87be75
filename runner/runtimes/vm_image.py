"""A capsule as a VM's root filesystem: an initramfs (newc cpio, gzip).

Each image's files (``docker export``, cached per image id) sit under
``/zunray/images/<id>/``; Zunray's own part, made per run, adds a static
busybox, one command script per container (``/zunray/cmd/<n>``: environment,
working directory, the program looked up first) and ``/init``. The kernel
takes several concatenated cpio archives, so the per-run part is appended to
the cached image parts without unpacking them.

``/init`` gives each container a root of its own (its image's files, moved,
or copied when two containers of the capsule use one image), with /proc, /sys,
/dev and the capsule's volumes (guest directories, gone with the VM) mounted
in, and ``chroot``s into it. Init containers run one after the other; then
the app containers run together, restarted by the capsule's restart policy.
They share the guest's loopback network. Every output line goes to the serial
console tagged ``ZR|<n>|`` so the host tells the containers apart; markers on
lines of their own say when the guest booted, when an app or init container
ended and the capsule's exit code (the first non-zero exit of its apps).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shlex
import stat
import tarfile
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.errors import InvalidSpec
from runner.models import CapsuleSpec, ContainerSpec

BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static: the same file the command protocol mounts
BOOTED, EXIT, MISSING = "ZUNRAY-BOOTED", "ZUNRAY-EXIT", "ZUNRAY-MISSING"
APP_START, APP_EXIT, INIT_FAILED, TAG = (
    "ZUNRAY-APP-START",
    "ZUNRAY-APP-EXIT",
    "ZUNRAY-INIT-FAILED",
    "ZR|",
)
RESTART_DELAY_S = 1  # between restarts of an app container (Docker backs off too)
MAX_ON_FAILURE_RESTARTS = 10  # as Zun's on-failure policy for Docker containers
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

INIT_HEAD = f"""#!/zunray/busybox sh
B=/zunray/busybox
$B mkdir -p /proc /sys /dev /tmp /zunray/roots /zunray/vol /zunray/rc
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev 2>/dev/null
$B ip link set lo up 2>/dev/null
tag() {{ while IFS= read -r l || [ -n "$l" ]; do echo "{TAG}$1|$l"; done; }}
root() {{
  r=/zunray/roots/$1
  if [ "$3" = copy ]; then $B cp -a /zunray/images/$2 $r; else $B mv /zunray/images/$2 $r; fi
  $B mkdir -p $r/proc $r/sys $r/dev $r/tmp $r/.zunray
  $B mount -t proc proc $r/proc; $B mount -t sysfs sys $r/sys; $B mount -o bind /dev $r/dev
  $B cp $B $r/.zunray/busybox; $B cp /zunray/cmd/$1 $r/.zunray/cmd
}}
vol() {{
  $B mkdir -p /zunray/vol/$2 /zunray/roots/$1$3
  $B mount -o bind /zunray/vol/$2 /zunray/roots/$1$3
  [ "$4" = ro ] && $B mount -o remount,bind,ro /zunray/roots/$1$3
}}
run() {{ {{ $B chroot /zunray/roots/$1 /.zunray/busybox sh /.zunray/cmd 2>&1; echo $? > /zunray/rc/$1; }} | tag $1; rc=$($B cat /zunray/rc/$1); }}
app() {{
  n=0
  while :; do
    echo "{APP_START} $1"; run $1; echo "{APP_EXIT} $1 $rc"
    case "$2" in always) ;; on-failure) [ "$rc" != 0 ] && [ $n -lt {MAX_ON_FAILURE_RESTARTS} ] || break ;; *) break ;; esac
    n=$((n + 1)); $B sleep {RESTART_DELAY_S}
  done
}}
"""


class CpioWriter:
    """The newc format the kernel unpacks into its initramfs."""

    def __init__(self, out: io.BufferedIOBase) -> None:
        self.out = out
        self.ino = 1

    def add(
        self, name: str, data: bytes = b"", *, mode: int, rdev: tuple[int, int] = (0, 0)
    ) -> None:
        name_b = name.lstrip("/").encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        self.out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + name_b)
        self.out.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.out.write(data)
        self.out.write(b"\0" * (-len(data) % 4))

    def dirs(self, *names: str) -> None:
        for name in names:
            self.add(name, mode=stat.S_IFDIR | 0o755)

    def trailer(self) -> None:
        self.add("TRAILER!!!", mode=0)


def image_dir(image_id: str) -> str:
    """Where an image's files are in the guest before /init gives them to a container."""
    return f"zunray/images/{image_id.replace('sha256:', '')[:16]}"


def rootfs_cpio(export_tar: io.BufferedIOBase, dest: Path, *, image_id: str) -> None:
    """The image's files (a ``docker export`` stream) as a gzipped cpio at ``dest``, under ``image_dir``."""
    tmp = dest.with_name(
        f"{dest.name}.{os.getpid()}.{threading.get_ident()}.partial"
    )  # node actors on one machine share the cache
    top = image_dir(image_id)
    with (
        gzip.open(tmp, "wb", compresslevel=1) as out,
        tarfile.open(fileobj=export_tar, mode="r|") as tar,
    ):
        cpio = CpioWriter(out)
        cpio.dirs("zunray", "zunray/images", top)
        for m in tar:
            perm, name = m.mode & 0o7777, f"{top}/{m.name}"
            if m.isdir():
                cpio.add(name, mode=stat.S_IFDIR | perm)
            elif m.issym():
                cpio.add(name, m.linkname.encode(), mode=stat.S_IFLNK | 0o777)
            elif m.isfile():
                cpio.add(name, tar.extractfile(m).read(), mode=stat.S_IFREG | perm)
            elif m.islnk():  # a hard link: a symbolic link to its target, absolute inside the container's root (its chroot)
                cpio.add(name, f"/{m.linkname.lstrip('/')}".encode(), mode=stat.S_IFLNK | 0o777)
        cpio.trailer()
    tmp.replace(dest)


def command_script(c: ContainerSpec, index: int) -> str:
    """One container's command, run by busybox sh inside its root: environment, workdir, the program checked first."""
    bad = [k for k in c.env if not ENV_NAME.fullmatch(k)]
    if bad:  # the guest's shell sets them: a name it cannot take would change the script
        raise InvalidSpec(
            f"container {c.name}: environment variable names a VM's shell cannot set: {', '.join(map(repr, bad))}",
            field="env",
        )
    lines = ["export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in c.env.items()]
    if c.workdir:
        lines.append(
            f"cd {shlex.quote(c.workdir)} || {{ echo '{MISSING} {index} workdir {c.workdir}'; exit 127; }}"
        )
    command = list(c.command) or ["sh"]
    lines.append(
        f"command -v {shlex.quote(command[0])} >/dev/null 2>&1 || {{ echo {shlex.quote(f'{MISSING} {index} {command[0]}')}; exit 127; }}"
    )
    lines.append("exec " + " ".join(shlex.quote(a) for a in command))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class GuestPlan:
    """A capsule's containers in guest order (init ones first): index n is container ``n`` in the guest."""

    spec: CapsuleSpec
    image_ids: tuple[str, ...]  # per container, in guest order
    restart: str = "no"  # the app containers' restart policy: no | on-failure | always

    @property
    def containers(self) -> tuple[ContainerSpec, ...]:
        return (*self.spec.init_containers, *self.spec.containers)

    def init_script(self) -> str:
        lines = [INIT_HEAD]
        last_user = {image_id: i for i, image_id in enumerate(self.image_ids)}
        for i, (c, image_id) in enumerate(zip(self.containers, self.image_ids, strict=True)):
            lines.append(
                f"root {i} {image_dir(image_id).rsplit('/', 1)[1]} {'move' if last_user[image_id] == i else 'copy'}"
            )
            lines += [
                f"vol {i} {shlex.quote(m.volume)} {shlex.quote(m.path)} {'ro' if m.read_only else 'rw'}"
                for m in c.mounts
            ]
        lines.append(
            f"echo {BOOTED}"
        )  # the containers' roots are ready: what runs from here is theirs
        for i in range(len(self.spec.init_containers)):
            lines.append(
                f'run {i}; [ "$rc" = 0 ] || {{ echo "{INIT_FAILED} {i} $rc"; echo "{EXIT} $rc"; $B poweroff -f; }}'
            )
        apps = range(len(self.spec.init_containers), len(self.containers))
        lines += [f"app {i} {self.restart} &" for i in apps]
        lines.append("wait")
        lines.append("code=0")
        lines += [f'[ "$code" = 0 ] && code=$($B cat /zunray/rc/{i})' for i in apps]
        lines += [f'echo "{EXIT} $code"', "$B poweroff -f"]
        return "\n".join(lines) + "\n"

    def run_cpio(self) -> bytes:
        """Zunray's part of the initramfs for one run: busybox, the command scripts and /init."""
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1) as out:
            cpio = CpioWriter(out)
            cpio.dirs("dev", "zunray", "zunray/cmd")
            cpio.add(
                "dev/console", mode=stat.S_IFCHR | 0o600, rdev=(5, 1)
            )  # init's stdout: the serial console
            cpio.add("zunray/busybox", BUSYBOX.read_bytes(), mode=stat.S_IFREG | 0o755)
            for i, c in enumerate(self.containers):
                cpio.add(
                    f"zunray/cmd/{i}", command_script(c, i).encode(), mode=stat.S_IFREG | 0o644
                )
            cpio.add("init", self.init_script().encode(), mode=stat.S_IFREG | 0o755)
            cpio.trailer()
        return buf.getvalue()


class Console:
    """What the guest says on its serial console, read line by line as it comes, by container.

    Bounded: each container keeps its last ``max_bytes`` of output, and the console its last
    ``TAIL_LINES`` lines (for error messages), however long the guest runs.
    """

    TAIL_LINES = 40

    def __init__(self, *, max_bytes: int = 1 << 20) -> None:
        self.max_bytes = max_bytes
        self.booted = False
        self.output: dict[int, deque[bytes]] = {}  # container index -> its last lines, in order
        self._sizes: dict[int, int] = {}
        self.app_exits: dict[int, int] = {}  # app container index -> its last exit code
        self.apps_running: set[int] = set()  # app containers started and not ended since
        self.init_failed: tuple[int, int] | None = None  # (container index, exit code)
        self.missing: tuple[int, str] | None = (
            None  # (container index, the program or workdir it lacks)
        )
        self.exit_code: int | None = None
        self.tail: deque[bytes] = deque(
            maxlen=self.TAIL_LINES
        )  # the console's last lines, as they were
        self.panic: bytes | None = None  # the kernel's first panic line
        self._partial = b""
        self.on_output: Callable[[int, bytes], None] | None = (
            None  # told each line a container writes, as it comes
        )

    def feed(self, data: bytes) -> None:
        """Take more of the console; complete lines are read at once."""
        *lines, self._partial = (self._partial + data).replace(b"\r", b"").split(b"\n")
        for line in lines:
            self._line(line)

    def close(self) -> None:
        """The console ended: its last, unfinished line counts too."""
        if self._partial:
            self._line(self._partial)
            self._partial = b""

    def lines_of(self, index: int) -> list[bytes]:
        return list(self.output.get(index, ()))

    def _line(self, line: bytes) -> None:
        if line.strip():
            self.tail.append(line)
        if self.panic is None and b"Kernel panic" in line:
            self.panic = line.strip()
        if not self.booted:
            self.booted = (
                BOOTED.encode() in line
            )  # after the firmware's own output, on the same line
            return
        if line.startswith(TAG.encode()):
            index, _, text = line[len(TAG) :].partition(b"|")
            if index.isdigit():
                self._keep(int(index), text)
                if (
                    text.startswith(MISSING.encode())
                    and len(parts := text.decode(errors="replace").split(" ", 2)) == 3
                    and parts[1].isdigit()
                ):
                    self.missing = (int(parts[1]), parts[2])
            return
        words = line.decode(errors="replace").split()
        if not all(w.lstrip("-").isdigit() for w in words[1:]):
            return  # not a marker (markers carry numbers only): a kernel line
        if len(words) == 2 and words[0] == APP_START:
            self.apps_running.add(int(words[1]))
        elif len(words) == 3 and words[0] == APP_EXIT:
            self.app_exits[int(words[1])] = int(words[2])
            self.apps_running.discard(int(words[1]))
        elif len(words) == 3 and words[0] == INIT_FAILED:
            self.init_failed = (int(words[1]), int(words[2]))
        elif len(words) == 2 and words[0] == EXIT:
            self.exit_code = int(words[1])

    def _keep(self, index: int, text: bytes) -> None:
        lines = self.output.setdefault(index, deque())
        lines.append(text)
        if self.on_output is not None:
            self.on_output(index, text)
        self._sizes[index] = self._sizes.get(index, 0) + len(text) + 1
        while self._sizes[index] > self.max_bytes and len(lines) > 1:
            self._sizes[index] -= len(lines.popleft()) + 1


def parse_console(raw: bytes, *, max_bytes: int = 1 << 20) -> Console:
    """A whole console at once (tests, tools)."""
    console = Console(max_bytes=max_bytes)
    console.feed(raw)
    console.close()
    return console
