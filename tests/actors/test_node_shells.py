"""The node's interactive shells without Ray or Docker: a real store (SQLite) and, for the
engine's TTY stream, one end of a socket pair whose other end plays the shell."""

from __future__ import annotations

import socket
import time
import uuid
from types import SimpleNamespace

import pytest

from actors.node_host import HostContext
from actors.node_shells import BAD_TOKEN, SHELL_ENDED, Shells
from runner.containers import Container, ContainerStatus
from runner.errors import InvalidSpec, Throttled, Unauthorized
from runner.models import CapsuleSpec, ContainerSpec, Resources
from runner.settings import Settings
from tests.actors.fake_runtime import FakeRuntime


class TtyEngine:
    """``ContainerOps``' TTY part: each stream is a socket pair; the test holds the shell's end."""

    def __init__(self) -> None:
        self.shell_ends: list[socket.socket] = []
        self.resized: list[tuple] = []

    def exec_create(self, cid: str, command: list[str]) -> str:
        return f"exec-{len(self.shell_ends)}-{cid}"

    def tty_socket(self, cid: str, exec_id: str | None) -> socket.socket:
        ours, theirs = socket.socketpair()
        self.shell_ends.append(theirs)
        return ours

    def tty_resize(self, cid: str, height: int, width: int, exec_id: str | None) -> None:
        self.resized.append((cid, height, width, exec_id))


@pytest.fixture
def shells(sqlite_store, tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        shell_sessions_per_project=2,
        shell_idle_timeout_s=0.3,
        shell_token_ttl_s=30,
    )
    host = HostContext(
        name="h1", store=sqlite_store, runtime=FakeRuntime(), settings=settings, finished=print
    )
    engine = TtyEngine()
    containers = SimpleNamespace(
        host=host, store=sqlite_store, settings=settings, ops=lambda cid: engine
    )
    s = Shells(containers)
    s.engine = engine
    yield s
    for end in engine.shell_ends:
        end.close()


def _container(store, project: str = "p1") -> Container:  # noqa: ANN001
    spec = CapsuleSpec(
        containers=(ContainerSpec("busybox", resources=Resources(cpu=0.1, memory_mb=64)),)
    )
    c = Container(
        uuid=str(uuid.uuid4()),
        name=f"c-{uuid.uuid4().hex[:6]}",
        project_id=project,
        user_id="u",
        capsule=spec,
        status=ContainerStatus.RUNNING,
        host="h1",
        spec={"interactive": True, "tty": True},
    )
    store.containers.create_container(c)
    return store.containers.update_container(c.uuid, container_id="docker-" + c.uuid[:8])


def _read_until(shells: Shells, sid: str, marker: bytes) -> bytes:
    got = b""
    deadline = time.monotonic() + 5
    while marker not in got and time.monotonic() < deadline:
        data, ended = shells.read(sid, 0.5)
        assert ended is None
        got += data
    return got


def test_an_exec_session_relays_both_ways_and_ends_with_the_shell(shells, sqlite_store):
    c = _container(sqlite_store)
    ticket = shells.run(c.uuid, "exec", {"command": ["/bin/sh"]})
    sid = shells.open(c.uuid, ticket["token"], ticket["exec_id"])
    shell_end = shells.engine.shell_ends[0]
    shells.write(sid, b"echo hi\r")
    assert shell_end.recv(100) == b"echo hi\r"
    shell_end.sendall(b"hi\r\n$ ")
    assert _read_until(shells, sid, b"$ ") == b"hi\r\n$ "
    shells.run(c.uuid, "execute_resize", {"exec_id": ticket["exec_id"], "height": 40, "width": 120})
    assert shells.engine.resized == [(c.container_id, 40, 120, ticket["exec_id"])]
    shell_end.close()  # the shell exits
    assert shells.read(sid, 1.0) == (b"", SHELL_ENDED)


def test_a_token_works_once_for_its_own_container_and_exec(shells, sqlite_store):
    c, other = _container(sqlite_store), _container(sqlite_store, project="p2")
    ticket = shells.run(c.uuid, "exec", {"command": ["/bin/sh"]})
    for uuid_, exec_id in (
        (other.uuid, ticket["exec_id"]),
        (c.uuid, "another-exec"),
        (c.uuid, None),
    ):
        with pytest.raises(Unauthorized, match="invalid, used or expired"):
            shells.open(uuid_, ticket["token"], exec_id)
    shells.open(c.uuid, ticket["token"], ticket["exec_id"])
    with pytest.raises(Unauthorized) as again:
        shells.open(c.uuid, ticket["token"], ticket["exec_id"])
    assert again.value.message == BAD_TOKEN
    with pytest.raises(InvalidSpec, match="no such exec instance"):  # another container's exec
        shells.run(
            other.uuid, "execute_resize", {"exec_id": ticket["exec_id"], "height": 1, "width": 1}
        )


def test_sessions_per_project_are_bounded_and_idle_ones_end(shells, sqlite_store):
    c = _container(sqlite_store)
    first = shells.run(c.uuid, "attach", {})
    second = shells.run(c.uuid, "exec", {"command": ["sh"]})
    with pytest.raises(Throttled, match="shell_sessions_per_project"):
        shells.run(c.uuid, "attach", {})
    shells.run(_container(sqlite_store, project="p2").uuid, "attach", {})  # another project's room
    sid = shells.open(c.uuid, first["token"], None)
    shells.open(c.uuid, second["token"], second["exec_id"])
    time.sleep(0.4)  # past shell_idle_timeout_s
    shells.reap()
    data, ended = shells.read(sid, 0.1)
    assert data == b"" and "idle for 0.3 s" in ended
    attached, executed = shells.engine.shell_ends
    assert (
        executed.recv(10) == b"\x03\x04"
    )  # the exec's shell is told to end (Docker would keep it)
    assert attached.recv(10) == b""  # the container's own process is only detached from
    shells.run(c.uuid, "attach", {})  # an ended session leaves room
