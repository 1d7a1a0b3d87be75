"""Interactive shells on a NodeActor's containers: Zun's ``exec --interactive`` and ``attach``.

The node actor owns its host's engine, and the gateway holding the client's websocket may run
on another host: so the node opens the Docker stream (an exec with a TTY, or the container's
own stdin/stdout) and the gateway relays it through Ray calls, ``read`` (a long poll that
returns as soon as output arrives) and ``write``. No port is opened on any host for it, and
the Docker socket never leaves the node.

A session starts with a ticket: ``run(uuid, "exec" | "attach", ...)`` answers a one-time
token, valid ``shell_token_ttl_s``, that the gateway puts in the websocket URL it returns;
``open`` spends it and starts the stream. Bounded: tickets and sessions per project and per
host (429 past them), an idle timeout, a total session time (``reap`` enforces both, also for
sessions whose gateway went away) and the size of what one call moves.
"""

from __future__ import annotations

import logging
import secrets
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from actors.node_containers import Containers
from runner.containers import Container
from runner.errors import InvalidSpec, NotFound, Throttled, Unauthorized
from runner.runtimes.bounded import Demux

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 10.0  # a shell that does not read its input for this long ends the session
READ_WAIT_MAX_S = 10.0  # the longest one read call waits for output (the caller's wait is capped)
HANG_UP_PAUSE_S = 0.2  # between the Ctrl-C and the Ctrl-D that end an abandoned exec's shell
ENDED_KEPT_S = 60.0  # an ended session's reason stays readable this long (its reader learns why)
SHELL_ENDED = (
    "the shell ended"  # its process exited (or the container stopped): no note to the client
)
BAD_TOKEN = "the websocket token is invalid, used or expired: ask for a new URL"


@dataclass
class _Ticket:
    uuid: str
    project: str
    exec_id: str | None  # None: attach to the container itself
    expires_at: float  # time.monotonic()
    spent: bool = False  # being opened (one use only)


@dataclass
class _Session:
    uuid: str
    project: str
    exec_id: str | None
    stream: Any  # what docker-py returned (it holds the connection)
    sock: socket.socket
    demux: Demux | None  # Docker multiplexes a stream without TTY
    opened_at: float
    active_at: float  # last input or output
    ended: str | None = None  # why it ended (the gateway tells the client)
    ended_at: float = 0.0


class Shells:
    """The shells of this node's Zun containers: tickets, open sessions, their bounds."""

    def __init__(self, containers: Containers) -> None:
        self.containers = containers
        self.host = containers.host
        self.store = containers.store
        self.settings = containers.settings
        self._lock = threading.Lock()
        self._tickets: dict[str, _Ticket] = {}  # token -> ticket
        self._sessions: dict[str, _Session] = {}  # session id -> session
        self._actions = {
            "exec": self._exec,
            "attach": self._attach,
            "execute_resize": self._execute_resize,
            "resize": self._resize,
        }

    # -- the Zun actions (the gateway's shell_action) ----------------------
    def run(self, uuid: str, action: str, params: dict[str, Any]) -> Any:
        """``exec``, ``attach`` (a ticket) or a TTY resize on a container of this host."""
        if action not in self._actions:
            raise InvalidSpec(f"unknown shell action {action}")
        project = self.store.containers.get_container(uuid).project_id
        with self.host.operation(project, uuid):
            c = self.store.containers.get_container(uuid)
            if not c.container_id:
                raise NotFound(f"container {uuid} has no Docker container on {self.host.name}")
            return self._actions[action](c, **params)

    def _ops(self, c: Container) -> Any:
        ops = self.containers.ops(c.container_id)
        if not hasattr(ops, "tty_socket"):
            raise InvalidSpec("this container's runtime has no interactive shells (runtime vm)")
        return ops

    def _exec(self, c: Container, command: list[str]) -> dict:
        ops = self._ops(c)
        with self._lock:
            self._admit(c.project_id)
        exec_id = ops.exec_create(c.container_id, command)
        return {"exec_id": exec_id, "token": self._ticket(c, exec_id)}

    def _attach(self, c: Container) -> dict:
        self._ops(c)
        with self._lock:
            self._admit(c.project_id)
        return {"token": self._ticket(c, None)}

    def _execute_resize(self, c: Container, exec_id: str, height: int, width: int) -> None:
        with self._lock:
            known = any(
                s.uuid == c.uuid and s.exec_id == exec_id
                for s in (*self._tickets.values(), *self._sessions.values())
            )
        if not known:  # Zun's answer for an exec id Docker does not know (another container's too)
            raise InvalidSpec(f"no such exec instance: {exec_id}", field="exec_id")
        self._ops(c).tty_resize(c.container_id, height, width, exec_id)

    def _resize(self, c: Container, height: int, width: int) -> None:
        self._ops(c).tty_resize(c.container_id, height, width, None)

    def _admit(self, project: str) -> None:
        """Room for one more ticket of ``project`` (called under the lock), else 429."""
        live = [t.project for t in self._tickets.values()] + [
            s.project for s in self._sessions.values() if s.ended is None
        ]
        if live.count(project) >= self.settings.shell_sessions_per_project:
            raise Throttled(
                f"the project has {self.settings.shell_sessions_per_project} shells on this host"
                " (shell_sessions_per_project): close one first",
                retry_after_s=5.0,
            )
        if len(live) >= self.settings.shell_sessions_per_host:
            raise Throttled(
                "this host has as many shells open as it allows (shell_sessions_per_host)",
                retry_after_s=5.0,
            )

    def _ticket(self, c: Container, exec_id: str | None) -> str:
        token = secrets.token_urlsafe(24)
        expires_at = time.monotonic() + self.settings.shell_token_ttl_s
        with self._lock:
            self._tickets[token] = _Ticket(c.uuid, c.project_id, exec_id, expires_at)
        return token

    # -- sessions (the gateway's websocket relay) --------------------------
    def open(self, uuid: str, token: str, exec_id: str | None) -> str:
        """Spend a ticket: start its stream; the session's id (for read, write and close)."""
        with self._lock:
            t = self._tickets.get(token)
            if (
                t is None
                or t.spent
                or t.uuid != uuid
                or t.exec_id != exec_id
                or t.expires_at < time.monotonic()
            ):
                raise Unauthorized(BAD_TOKEN)
            t.spent = True
        try:
            c = self.store.containers.get_container(uuid)
            stream = self._ops(c).tty_socket(c.container_id, exec_id)
        except BaseException:
            with self._lock:
                self._tickets.pop(token, None)
            raise
        sock = getattr(stream, "_sock", stream)
        sock.settimeout(WRITE_TIMEOUT_S)  # reads wait in select(), never in recv()
        tty = exec_id is not None or bool(c.spec.get("tty"))
        now = time.monotonic()
        sid = secrets.token_urlsafe(16)
        session = _Session(
            uuid=uuid,
            project=c.project_id,
            exec_id=exec_id,
            stream=stream,
            sock=sock,
            demux=None if tty else Demux(),
            opened_at=now,
            active_at=now,
        )
        with self._lock:
            self._tickets.pop(token, None)
            self._sessions[sid] = session
        log.info("shell %s opened on container %s (exec %s)", sid[:6], uuid, exec_id)
        return sid

    def read(self, sid: str, wait_s: float) -> tuple[bytes, str | None]:
        """Output as soon as there is some, within ``wait_s``: (bytes, None), or (b"", why) once ended."""
        s = self._sessions.get(sid)
        if s is None:
            return b"", "the session is closed"
        if s.ended is None:
            self._check_bounds(s)
        if s.ended is not None:
            return b"", s.ended
        try:
            ready, _, _ = select.select([s.sock], [], [], min(wait_s, READ_WAIT_MAX_S))
            data = s.sock.recv(self.settings.shell_frame_max_bytes) if ready else None
        except (OSError, ValueError) as exc:  # closed under us (reap, close) or broken
            self._end(s, s.ended or f"the stream broke: {exc}")
            return b"", s.ended
        if data is None:
            return b"", None
        if not data:
            self._end(s, SHELL_ENDED)
            return b"", s.ended
        s.active_at = time.monotonic()
        if s.demux is not None:
            data = b"".join(piece for _, piece in s.demux.feed(data))
        return data, None

    def write(self, sid: str, data: bytes) -> None:
        """Input for the shell (at most ``shell_frame_max_bytes`` at once)."""
        if len(data) > self.settings.shell_frame_max_bytes:
            raise InvalidSpec(
                f"{len(data)} bytes at once; the limit is {self.settings.shell_frame_max_bytes}"
            )
        s = self._sessions.get(sid)
        if s is None or s.ended is not None:
            raise NotFound("the session is closed")
        try:
            s.sock.sendall(data)
        except OSError as exc:
            self._end(s, f"the shell does not take input: {exc}")
            raise NotFound(s.ended) from None
        s.active_at = time.monotonic()

    def close(self, sid: str) -> None:
        """The client went away: end the session and forget it."""
        with self._lock:
            s = self._sessions.pop(sid, None)
        if s is not None:
            self._end(s, "closed by the client")

    def reap(self) -> None:
        """Drop expired tickets; end sessions past their bounds; forget long-ended ones."""
        now = time.monotonic()
        with self._lock:
            for token in [
                k for k, t in self._tickets.items() if t.expires_at < now and not t.spent
            ]:
                del self._tickets[token]
            sessions = list(self._sessions.items())
        for sid, s in sessions:
            if s.ended is None:
                self._check_bounds(s)
            elif now - s.ended_at > ENDED_KEPT_S:
                with self._lock:
                    self._sessions.pop(sid, None)

    def _check_bounds(self, s: _Session) -> None:
        now, st = time.monotonic(), self.settings
        if now - s.opened_at > st.shell_max_session_s:
            self._end(s, f"the session reached its time limit of {st.shell_max_session_s:g} s")
        elif now - s.active_at > st.shell_idle_timeout_s:
            self._end(s, f"the session was idle for {st.shell_idle_timeout_s:g} s")

    def _hang_up(self, s: _Session) -> None:
        """Docker leaves an exec running when its stream closes, and has no call to end one: type
        what a user would, Ctrl-C (ends a foreground command, and the TTY flushes pending input on
        it, hence the pause) then Ctrl-D (ends the shell at its prompt). A program that ignores
        both lives on inside the container, within its pids limit, until the container ends."""
        try:
            s.sock.sendall(b"\x03")
            time.sleep(HANG_UP_PAUSE_S)
            s.sock.sendall(b"\x04")
        except OSError:
            pass

    def _end(self, s: _Session, why: str) -> None:
        if s.ended is None:
            s.ended, s.ended_at = why, time.monotonic()
            log.info("shell on container %s ended: %s", s.uuid, why)
            if s.exec_id is not None and why != SHELL_ENDED:
                self._hang_up(s)
        try:
            s.sock.shutdown(socket.SHUT_RDWR)  # wakes a read waiting in select() on it
        except OSError:
            pass
        for closing in (s.sock, s.stream):
            try:
                closing.close()
            except OSError:
                pass
