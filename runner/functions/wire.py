"""The host side of the shim's wire format (see ``runner/functions/shim.py``).

``Reply`` is what came back; ``call_async`` (for the asyncio function actor)
and ``call_sync`` (for the threaded node actor) send one invocation over an
open connection. A connection that breaks means the instance is gone:
``InstanceLost``; one that does not answer in time: ``InvocationTimeout``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from dataclasses import dataclass

from runner.errors import FunctionFailed, FunctionTimedOut

HEADER = struct.Struct(">cI")


class InstanceLost(FunctionFailed):
    """The instance's process went away mid-invocation (crash, kill, OOM)."""


class InvocationTimeout(FunctionTimedOut):
    """The handler did not answer within the function's timeout."""


class ReplyTooLarge(FunctionFailed):
    """The handler's reply is over the limit: refused from its length, before it is read
    (the connection is closed with it unread)."""


def _check_length(length: int, max_bytes: int) -> None:
    if length > max_bytes:
        raise ReplyTooLarge(
            f"the reply is {length} bytes, over the limit of {max_bytes} (function_payload_max_bytes)"
        )


@dataclass(frozen=True, slots=True)
class Reply:
    kind: str  # "json" | "bytes" | "error"
    body: bytes

    @property
    def error(self) -> dict:
        return json.loads(self.body) if self.kind == "error" else {}


_KINDS = {b"R": "json", b"B": "bytes", b"E": "error"}


def error_body(message: str, **fields: str) -> bytes:
    """An error reply's body, as the shim writes it."""
    return json.dumps(
        {"type": "Error", "message": message, "traceback": "", "stderr": "", **fields}
    ).encode()


def frame(header: dict, payload: bytes) -> bytes:
    body = json.dumps(header, separators=(",", ":")).encode() + b"\n" + payload
    return HEADER.pack(b"I", len(body)) + body


def _reply(kind: bytes, body: bytes) -> Reply:
    if kind not in _KINDS:
        raise InstanceLost(f"the instance answered an unknown frame {kind!r}")
    return Reply(_KINDS[kind], body)


async def call_async(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    header: dict,
    payload: bytes,
    timeout_s: float,
    *,
    max_bytes: int,
) -> Reply:
    try:
        writer.write(frame(header, payload))
        async with asyncio.timeout(timeout_s):
            await writer.drain()
            kind, length = HEADER.unpack(await reader.readexactly(HEADER.size))
            _check_length(length, max_bytes)
            return _reply(kind, await reader.readexactly(length))
    except TimeoutError as exc:
        raise InvocationTimeout(f"no answer within {timeout_s:g} s") from exc
    except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
        raise InstanceLost(f"the instance closed the connection ({type(exc).__name__})") from exc


def call_sync(
    conn: socket.socket, header: dict, payload: bytes, timeout_s: float, *, max_bytes: int
) -> Reply:
    conn.settimeout(timeout_s)
    try:
        conn.sendall(frame(header, payload))
        kind, length = HEADER.unpack(_recv_exact(conn, HEADER.size))
        _check_length(length, max_bytes)
        return _reply(kind, _recv_exact(conn, length))
    except socket.timeout as exc:
        raise InvocationTimeout(f"no answer within {timeout_s:g} s") from exc
    except OSError as exc:
        raise InstanceLost(f"the instance closed the connection ({type(exc).__name__})") from exc


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = conn.recv(min(n, 1 << 20))
        if not chunk:
            raise ConnectionResetError("closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
