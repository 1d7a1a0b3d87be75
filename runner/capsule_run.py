"""Running one capsule on a Docker runtime.

Init containers run one after the other to completion; then the app containers
start together. A capsule of several app containers gets a small infra
container that owns the network namespace, and the others join it
(``network_mode=container:<infra>``), so they share localhost. A capsule of one
container needs no infra container.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from runner.errors import RuntimeFailure, ZunrayError
from runner.log_tail import LogTail
from runner.models import CapsuleSpec, ContainerSpec, Resources
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.docker_types import LongRunning, ManagedContainer
from runner.runtimes.networks import ProjectNetworks
from runner.runtimes.secret_files import pull_auth
from runner.telemetry import tracer

INFRA_IMAGE = "busybox:latest"
_INFRA = ContainerSpec(
    image=INFRA_IMAGE,
    command=("sleep", "2147483647"),
    resources=Resources(cpu=0.05, memory_mb=16, pids=16),
    name="infra",
)


class InitFailed(RuntimeFailure):
    """An init container exited non-zero; the app containers never started."""

    def __init__(self, name: str, exit_code: int) -> None:
        super().__init__(f"init container {name} exited with {exit_code}")
        self.exit_code = exit_code


class CapsuleRun:
    """The containers of one capsule on one host."""

    def __init__(
        self,
        runtime: DockerRuntime,
        *,
        capsule_id: str,
        project: str,
        spec: CapsuleSpec,
        networks: ProjectNetworks | None = None,
        attempt: int = 0,
    ) -> None:
        self.runtime = runtime
        self.attempt = attempt  # in container names: a new attempt never collides with a lost one
        self.cpuset: tuple[str | None, str | None] = (
            None,
            None,
        )  # (cpus, mems) for every container
        self.host_binds: list[
            str
        ] = []  # "host-path:/path[:ro]" for the app containers (set by the node, never by users)
        self.networks = networks  # resolves spec.network "project"; None: no network at all
        self.capsule_id = capsule_id
        self.project = project
        self.spec = spec
        self.containers: list[tuple[str, str, str]] = []  # (role, name, container id)
        self.output: LogTail | None = (
            None  # set (jobs): the output is read as it comes, by offset; else ``logs`` reads it at once
        )
        self.progress: Callable[[str], None] = (
            lambda _: None  # set (jobs): hears how far the start got (an image pull's bytes)
        )
        self._readers: list[threading.Thread] = []

    @classmethod
    def adopt(
        cls,
        runtime: DockerRuntime,
        *,
        capsule_id: str,
        project: str,
        spec: CapsuleSpec,
        found: list[ManagedContainer],
        attempt: int = 0,
    ) -> CapsuleRun:
        """Rebuild a run from containers found by their labels after a restart."""
        run = cls(runtime, capsule_id=capsule_id, project=project, spec=spec, attempt=attempt)
        order = {"infra": 0, "init": 1, "app": 2}
        for c in sorted(found, key=lambda c: order.get(c.labels.get("zunray.role", "app"), 2)):
            run.containers.append(
                (c.labels.get("zunray.role", "app"), c.labels.get("zunray.container", "main"), c.id)
            )
        return run

    def volume_name(self, volume: str) -> str:
        return f"{self.runtime.instance}-{self.capsule_id}-{volume}"

    def _create(
        self, spec: ContainerSpec, role: str, network_mode: str, restart_policy: dict | None = None
    ) -> str:
        labels = self.runtime.labels_for(
            uuid=self.capsule_id,
            project=self.project,
            capsule=self.capsule_id,
            name=spec.name,
            role=role,
        )
        binds = [
            f"{self.volume_name(m.volume)}:{m.path}{':ro' if m.read_only else ''}"
            for m in spec.mounts
        ]
        if role == "app":
            binds += self.host_binds
        cid = self.runtime.create(
            spec,
            name=f"{self.runtime.instance}-{self.capsule_id}-{spec.name}"
            + (f"-{self.attempt}" if self.attempt else ""),
            labels=labels,
            runtime=self.spec.runtime,
            network_mode=network_mode,
            long_running=LongRunning(
                restart_policy=restart_policy,
                volumes=binds or None,
                cpuset_cpus=self.cpuset[0] or None,
                cpuset_mems=self.cpuset[1],
            ),
        )
        self.containers.append((role, spec.name, cid))
        return cid

    def start(
        self,
        *,
        deadline: float | None = None,
        sandbox: bool = False,
        restart_policy: dict | None = None,
    ) -> bool:
        """Pull, create and start everything. False if ``deadline`` passed in init.

        ``sandbox`` always gives the capsule an infra container (Zun capsules
        have one); otherwise only several containers get one. A failure
        half-way leaves the created parts in ``containers``: call ``remove``.
        """
        with tracer().start_as_current_span("image.ensure"):
            for spec in (*self.spec.init_containers, *self.spec.containers):
                self.runtime.ensure_image(
                    spec.image,
                    spec.pull_policy,
                    project=self.project,
                    progress=self.progress,
                    **pull_auth(self.runtime.secrets, spec),
                )
        for volume in self.spec.volumes:
            self.runtime.create_volume(
                self.volume_name(volume),
                labels=self.runtime.labels_for(
                    uuid=self.capsule_id,
                    project=self.project,
                    capsule=self.capsule_id,
                    name=volume,
                    role="volume",
                ),
            )
        network = (
            self.networks.resolve(self.spec.network, self.project) if self.networks else "none"
        )
        if sandbox or len(self.spec.containers) > 1 or self.spec.init_containers:
            self.runtime.ensure_image(INFRA_IMAGE, _INFRA.pull_policy)
            infra = self._create(_INFRA, "infra", network)
            self.runtime.start(infra)
            network = f"container:{infra}"
        for spec in self.spec.init_containers:
            cid = self._create(spec, "init", network)
            self._start(spec.name, cid)
            code = self.runtime.wait(cid, _remaining(deadline))
            if code is None:
                return False
            if code != 0:
                raise InitFailed(spec.name, code)
        with tracer().start_as_current_span("container.create"):
            app_ids = [
                self._create(spec, "app", network, restart_policy) for spec in self.spec.containers
            ]
        with tracer().start_as_current_span("container.start"):
            for cid, spec in zip(app_ids, self.spec.containers, strict=True):
                self._start(spec.name, cid)
        return True

    def _start(self, name: str, cid: str) -> None:
        """Start a container; with ``output``, read what it writes from its first byte on."""
        if self.output is None:
            self.runtime.start(cid)
            return
        reader = self._reader(
            name, self.runtime.attach_output(cid)
        )  # attached before the start: nothing is missed
        self.runtime.start(cid)
        self._readers.append(
            reader
        )  # waited for once it ends (a container that never started ends at its removal)

    def read_output(self) -> None:
        """Read the output of the containers found (an adopted run) into ``output``: what they wrote so far, then on."""
        for role, name, cid in self.containers:
            if role == "infra" or self.output is None:
                continue
            try:
                self._readers.append(self._reader(name, self.runtime.attach_output(cid, past=True)))
            except ZunrayError:
                pass  # gone since it was found: its run ends as the others find out

    def _reader(self, name: str, chunks: Iterator[bytes]) -> threading.Thread:
        several = len(self.spec.init_containers) + len(self.spec.containers) > 1
        source = name if several else None
        reader = threading.Thread(
            target=self._copy_output,
            args=(chunks, source),
            name=f"output-{self.capsule_id[:8]}",
            daemon=True,
        )
        reader.start()
        return reader

    def _copy_output(self, chunks: Iterator[bytes], source: str | None) -> None:
        assert self.output is not None
        for chunk in chunks:
            self.output.write(chunk, source=source)

    def drain_output(self, timeout_s: float = 5.0) -> None:
        """Let the readers take the last output of containers that stopped (they end at the container's end)."""
        until = time.monotonic() + timeout_s
        for reader in self._readers:
            reader.join(max(0.0, until - time.monotonic()))

    def app_ids(self) -> list[str]:
        return [cid for role, _, cid in self.containers if role == "app"]

    def member_ids(self) -> dict[str, str]:
        """name -> container id, as a Zun capsule shows its members."""
        return {name: cid for _, name, cid in self.containers}

    def wait(self, *, deadline: float | None) -> int | None:
        """First non-zero exit code of the app containers, else 0; None on timeout."""
        result = 0
        for cid in self.app_ids():
            code = self.runtime.wait(cid, _remaining(deadline))
            if code is None:
                return None
            if code != 0 and result == 0:
                result = code
        return result

    def oom_killed(self) -> bool:
        return any(self.runtime.oom_killed(cid) for cid in self.app_ids())

    def kill(self) -> None:
        for _, _, cid in reversed(self.containers):
            self.runtime.kill(cid)

    def logs(self) -> bytes:
        """All containers' output; with several, each under a header."""
        shown = [(role, name, cid) for role, name, cid in self.containers if role != "infra"]
        if len(shown) == 1:
            return self.runtime.logs(shown[0][2])
        return b"".join(
            f"==> {name} <==\n".encode() + self.runtime.logs(cid) for _, name, cid in shown
        )

    def remove(self) -> None:
        """Remove every container and volume of the capsule."""
        for _, _, cid in reversed(self.containers):
            self.runtime.remove(cid)
        for volume in self.spec.volumes:
            self.runtime.remove_volume(self.volume_name(volume))


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.001, deadline - time.time())
