"""One warm instance of a function as a capsule, and its files on the host.

Shim protocol: the container runs ``python3 /zunray/shim/shim.py``; the shim
(mounted read-only from this package), the inline code (read-only) and a run
directory holding the unix socket (read-write) are bind mounts from
``<data_dir>/functions/<instance>/``. Command protocol: the container only
sleeps (``/zunray/bin/busybox sleep``, a static binary mounted read-only, so
any image works) and each invocation is an exec of the function's command.

The run directory is writable from inside the container: whatever the host
opens there (the socket) is opened without following a symlink the tenant
may have put in its place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from runner.functions.model import SHIM, Instance
from runner.functions.wire import InstanceLost
from runner.models import CapsuleSpec, ContainerSpec

SHIM_FILE = Path(__file__).with_name("shim.py")
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static, installed by scripts/setup.sh
SOCKET_IN_CONTAINER = "/zunray/run/sock"


class InstanceFiles:
    """The host directory of one instance."""

    def __init__(self, data_dir: Path, instance_uuid: str) -> None:
        self.root = data_dir / "functions" / instance_uuid
        self.run = self.root / "run"
        self.code = self.root / "code"

    @property
    def socket(self) -> Path:
        return self.run / "sock"

    def serving(self) -> bool:
        """Whether the shim's socket is there: a socket, not a symlink or anything else in its place."""
        try:
            return stat.S_ISSOCK(self.socket.lstat().st_mode)
        except OSError:
            return False

    @contextlib.contextmanager
    def socket_address(self) -> Iterator[str]:
        """An address to connect to that reaches the shim's socket itself, never where a symlink points.

        A tenant can replace its socket with a symlink to a host socket (dockerd's). The name is
        opened with O_PATH | O_NOFOLLOW, checked to be a socket, and connected to through
        /proc/self/fd, which reaches exactly the inode that was checked: no window to swap it.
        """
        try:
            fd = os.open(self.socket, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise InstanceLost(f"cannot connect to the instance ({exc.strerror})") from exc
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                raise InstanceLost(
                    "cannot connect to the instance (its socket was replaced by something else)"
                )
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)

    def prepare(self, inst: Instance) -> list[str]:
        """Write the inline code and make the run directory; returns the bind mounts."""
        self.run.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        binds = [f"{self.run}:/zunray/run"]
        if inst.spec.protocol == SHIM:
            binds.append(f"{SHIM_FILE}:/zunray/shim/shim.py:ro")
            if inst.spec.code:
                self.code.mkdir(parents=True, exist_ok=True)
                module = (inst.spec.handler or "handler:handle").split(":", 1)[0]
                (self.code / f"{module.replace('.', '/')}.py").write_text(inst.spec.code)
                binds.append(f"{self.code}:/zunray/code:ro")
        else:
            binds.append(f"{BUSYBOX}:/zunray/bin/busybox:ro")
        return binds

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def capsule_of(inst: Instance) -> CapsuleSpec:
    """The capsule that runs one instance (one container, no network)."""
    spec = inst.spec
    if spec.protocol == SHIM:
        command = ("python3", "/zunray/shim/shim.py")
        env = {
            **spec.env,
            "ZUNRAY_HANDLER": spec.handler or "",
            "ZUNRAY_SOCKET": SOCKET_IN_CONTAINER,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    else:
        command = ("/zunray/bin/busybox", "sleep", "2147483647")
        env = dict(spec.env)
    container = ContainerSpec(
        image=spec.image,
        command=command,
        env=env,
        resources=spec.resources,
        name="fn",
        pull_policy=spec.pull_policy,
        secrets=spec.secrets,
        registry_id=spec.registry_id,
    )
    return CapsuleSpec(containers=(container,), runtime=spec.runtime)
