"""Zun containers and capsules with ``runtime: vm``: the live operations the
Zun API needs, on VMs instead of Docker containers.

A VM's id is ``vm-<uuid>`` (the Zun container's or capsule's uuid); the node
registry (``runner.runtimes.registry``) routes operations on such ids here. start
boots the VM (a container's command runs as the guest's only program; a
capsule's containers run as ``vm_image`` describes), stop and kill power it
off, logs read its console; what a VM cannot do (exec, top, stats, archives,
pause, live resize, commit) is refused with a clear 409. VMs end with their
node actor: after a restart the node registers its VMs again (``lost``: they
show as exited until booted again).
"""

from __future__ import annotations

from typing import Any

from runner.errors import Conflict, NotFound, RuntimeFailure
from runner.models import CapsuleSpec
from runner.runtimes.vm import VmRun, VmRuntime

PREFIX = "vm-"


class VmOps:
    """The VMs of this node's Zun containers, by container id."""

    def __init__(self, vm: VmRuntime) -> None:
        self.vm = vm
        self._specs: dict[str, tuple[CapsuleSpec, str]] = {}  # id -> (spec, restart policy)
        self._runs: dict[str, VmRun] = {}
        self._lost: set[str] = set()  # ran under the previous node actor, not booted since

    def create(
        self, uuid: str, spec: CapsuleSpec, *, restart: str = "no", lost: bool = False
    ) -> str:
        """Know a VM (not booted yet); ``lost``: it ran before this node actor started and died with the last one."""
        cid = f"{PREFIX}{uuid}"
        self._specs[cid] = (spec, restart)
        if lost:
            self._lost.add(cid)
        return cid

    def _run(self, cid: str) -> VmRun | None:
        if cid not in self._specs:
            raise NotFound(f"no VM {cid} on this host (it ended with a node actor restart)")
        return self._runs.get(cid)

    def state(self, cid: str) -> dict:
        run = self._run(cid)
        if run is None and cid in self._lost:
            return {
                "Status": "exited",
                "ExitCode": 137,
                "Error": "its VM ended with the node actor's restart",
            }
        if run is None:
            return {"Status": "created", "ExitCode": 0}
        code = run.exit_code()
        if code is None:
            return {"Status": "running", "ExitCode": 0}
        return {"Status": "exited", "ExitCode": code}

    def start(self, cid: str) -> None:
        old = self._run(cid)
        if old is not None:
            old.remove()
        spec, restart = self._specs[cid]
        self._lost.discard(cid)
        run = self._runs[cid] = VmRun(
            self.vm, capsule_id=cid.removeprefix(PREFIX), spec=spec, restart=restart
        )
        run.start()

    def stop(self, cid: str, timeout_s: int) -> None:  # noqa: ARG002 - a VM is powered off at once
        if (run := self._run(cid)) is not None:
            run.kill()

    def kill(self, cid: str, signal: str | None) -> None:  # noqa: ARG002 - any signal powers the VM off
        self.stop(cid, 0)

    def restart(self, cid: str, timeout_s: int) -> None:
        self.stop(cid, timeout_s)
        self.start(cid)

    def logs(
        self,
        cid: str,
        *,
        stdout: bool = True,
        stderr: bool = True,
        timestamps: bool = False,
        tail: str | int = "all",
        since: int | None = None,
        max_bytes: int | None = None,
    ) -> str:  # noqa: ARG002 - the console keeps only log_max_bytes per container already
        run = self._run(cid)
        text = run.logs().decode(errors="replace") if run is not None else ""
        if tail not in ("all", None, ""):
            text = "".join(text.splitlines(keepends=True)[-int(tail) :])
        return text

    def app_states(self, cid: str) -> dict[str, str] | None:
        """A capsule's app containers' states (running/exited); None while its VM has not booted yet."""
        run = self._run(cid)
        return run.app_states() if run is not None else None

    def failure(self, cid: str) -> str | None:
        """Why a VM that has ended ended badly (an init container failed, a program is missing, QEMU was killed); None otherwise."""
        run = self._run(cid)
        if run is None or run.exit_code() is None:
            return None
        try:
            run.wait()
        except RuntimeFailure as exc:
            return exc.message
        return None

    def rename(self, cid: str, name: str) -> None:
        """A VM has no engine-side name: nothing to do."""

    def remove(self, cid: str) -> None:
        run = self._runs.pop(cid, None)
        if run is not None:
            run.remove()
        self._specs.pop(cid, None)
        self._lost.discard(cid)

    def __getattr__(self, op: str) -> Any:  # exec, top, stats, archives, pause, update, commit
        def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise Conflict(
                f"{op.replace('_', ' ')} is not available for containers with runtime vm"
            )

        return refuse
