"""A Docker runtime in memory, for the node actor's services without Docker.

It keeps what the services ask of an engine (``calls``) and containers as plain
records; a container's ``wait`` blocks until it is killed, as a running process
would. Only what the tests in this folder use is here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from runner.errors import NotFound
from runner.runtimes.docker_types import ManagedContainer

KILLED = 137


@dataclass
class FakeContainer:
    id: str
    labels: dict[str, str]
    output: bytes = b""
    cpuset: str = ""
    state: str = "running"
    ended: threading.Event = field(default_factory=threading.Event)


class FakeRuntime:
    """The part of ``DockerRuntime`` the node's services call, in memory."""

    def __init__(self, containers: list[FakeContainer] = ()) -> None:
        self.instance = "fake"
        self.log_max_bytes = 1 << 20
        self.secrets = None  # no secrets nor registry credentials on this engine
        self.created: dict[str, int] = {}
        self.containers = {c.id: c for c in containers}
        self.calls: list[tuple] = []  # (method, *args) in the order asked

    def _get(self, cid: str) -> FakeContainer:
        try:
            return self.containers[cid]
        except KeyError:
            raise NotFound(f"no container {cid}") from None

    def managed(self, **labels: str) -> list[ManagedContainer]:
        self.calls.append(("managed", labels))
        wanted = {f"zunray.{k}": v for k, v in labels.items()}
        return [
            ManagedContainer(id=c.id, labels=c.labels, state=c.state, exit_code=None)
            for c in self.containers.values()
            if all(c.labels.get(k) == v for k, v in wanted.items())
        ]

    def adopt_secret_files(self) -> None:
        self.calls.append(("adopt_secret_files",))

    def _call(
        self, method: str, cid: str, *args: object, **kwargs: object
    ) -> object:  # what ContainerOps asks
        self.calls.append((method, cid, *args))
        c = self._get(cid)
        if method == "put_archive":
            return True
        assert method == "inspect_container", method
        return {"HostConfig": {"CpusetCpus": c.cpuset}, "State": {"Status": c.state}}

    def create_volume(self, name: str, *, labels: dict[str, str]) -> None:
        self.calls.append(("create_volume", name, labels))

    def create(
        self,
        spec: object,
        *,
        name: str,
        labels: dict[str, str],
        runtime: str,
        network_mode: str,
        long_running: object,
    ) -> str:
        self.calls.append(("create", name, runtime, network_mode, long_running))
        self.containers[name] = FakeContainer(name, labels, state="created")
        return name

    def update_cpuset(self, cid: str, cpus: str) -> None:
        self.calls.append(("update_cpuset", cid, cpus))
        self._get(cid).cpuset = cpus

    def attach_output(self, cid: str, *, past: bool = False) -> list[bytes]:
        self.calls.append(("attach_output", cid))
        return [self._get(cid).output]

    def wait(self, cid: str, timeout_s: float | None) -> int | None:
        return KILLED if self._get(cid).ended.wait(timeout_s) else None

    def oom_killed(self, cid: str) -> bool:
        return False

    def kill(self, cid: str) -> None:
        self.calls.append(("kill", cid))
        c = self._get(cid)
        c.state = "exited"
        c.ended.set()

    def remove(self, cid: str) -> None:
        self.calls.append(("remove", cid))
        self.containers.pop(cid, None)
