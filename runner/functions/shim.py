"""Zunray's function shim: serves a Python handler over a unix socket.

Standard library only: the platform mounts this file read-only into a
function's container (at /zunray/shim/shim.py) and runs it with the image's
own ``python3``. It needs no container network.

Environment:
  ZUNRAY_HANDLER  ``module:function`` (the module is looked up in
                  /zunray/code first, then the image's sys.path)
  ZUNRAY_SOCKET   path of the unix socket to listen on (in a mounted directory)

The handler is called as ``handler(event)`` or ``handler(event, context)``:
``event`` is the request body decoded from JSON (``None`` when empty; the raw
``bytes`` when it is not JSON), ``context`` a dict with ``invocation_id``,
``function``, ``version`` and ``deadline`` (a ``time.time()`` value or None).
It returns anything ``json.dumps`` takes, or ``bytes`` to answer raw bytes.

Wire format, one connection per concurrent invocation, many invocations per
connection, each frame a kind byte, a big-endian u32 length, then the body:
  request   b"I" + len + JSON header line + b"\\n" + payload
  response  b"R" JSON result | b"B" raw bytes result | b"E" JSON error
            ({"type", "message", "traceback", "stderr"})
Anything the handler writes to stderr or stdout goes to the container's log;
the last 4 KiB of stderr also comes back with an error.
"""

import importlib
import inspect
import json
import os
import socket
import struct
import sys
import threading
import traceback

HEADER = struct.Struct(">cI")
STDERR_TAIL = 4096
_local = threading.local()


class _Tee:
    """sys.stderr that also keeps the current invocation's output (per thread)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        buf = getattr(_local, "stderr", None)
        if buf is not None:
            buf.append(text)
            if sum(len(t) for t in buf) > 4 * STDERR_TAIL:
                joined = "".join(buf)[-STDERR_TAIL:]
                buf[:] = [joined]
        return self._stream.write(text)

    def flush(self):
        self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _recv_exact(conn, n):
    chunks = []
    while n:
        chunk = conn.recv(min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _send(conn, kind, body):
    conn.sendall(HEADER.pack(kind, len(body)) + body)


def _load(spec):
    module_name, _, func_name = spec.partition(":")
    if not module_name or not func_name:
        raise SystemExit("ZUNRAY_HANDLER must look like module:function, got %r" % spec)
    module = importlib.import_module(module_name)
    handler = getattr(module, func_name)
    try:
        wants_context = len(inspect.signature(handler).parameters) >= 2
    except (TypeError, ValueError):
        wants_context = False
    return handler, wants_context


def _decode(payload):
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload


def _invoke(handler, wants_context, header, payload):
    _local.stderr = []
    try:
        event = _decode(payload)
        result = handler(event, header) if wants_context else handler(event)
        if isinstance(result, (bytes, bytearray)):
            return b"B", bytes(result)
        return b"R", json.dumps(result).encode()
    except Exception as exc:  # the handler's own error goes back to the caller
        sys.stderr.flush()
        error = {
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": traceback.format_exc()[-STDERR_TAIL:],
            "stderr": "".join(_local.stderr)[-STDERR_TAIL:],
        }
        return b"E", json.dumps(error).encode()
    finally:
        _local.stderr = None


def _serve(conn, handler, wants_context):
    with conn:
        while True:
            head = _recv_exact(conn, HEADER.size)
            if head is None:
                return
            kind, length = HEADER.unpack(head)
            body = _recv_exact(conn, length)
            if body is None or kind != b"I":
                return
            line, _, payload = body.partition(b"\n")
            out_kind, out = _invoke(handler, wants_context, json.loads(line or b"{}"), payload)
            _send(conn, out_kind, out)


def main():
    sys.stderr = _Tee(sys.stderr)
    sys.path.insert(0, "/zunray/code")
    handler, wants_context = _load(os.environ.get("ZUNRAY_HANDLER", ""))
    path = os.environ.get("ZUNRAY_SOCKET", "/zunray/run/sock")
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(tmp)
    server.listen(64)
    os.replace(tmp, path)  # the socket appears only once it accepts
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_serve, args=(conn, handler, wants_context), daemon=True).start()


if __name__ == "__main__":
    main()
