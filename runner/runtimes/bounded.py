"""Reading what a container sends back without holding more than a bound in memory.

A container decides how much it prints, how big a file it asks us to archive and
how long an exec runs; Zunray decides how much of it it reads. Pure helpers over
byte chunks, used by the Docker driver (``docker.py``, ``docker_ops.py``).
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable, Iterator

from runner.errors import TooLarge

_FRAME = struct.Struct(
    ">BxxxL"
)  # Docker's multiplexed stream: stream id, 3 bytes padding, payload size


def keep_last(chunks: Iterable[bytes], max_bytes: int) -> tuple[bytes, int]:
    """The last ``max_bytes`` of a stream and how many bytes came before them.

    Reads it all (time grows with the stream) but holds at most about twice the bound.
    """
    buf = bytearray()
    dropped = 0
    for chunk in chunks:
        buf += chunk
        if len(buf) > 2 * max_bytes:
            cut = len(buf) - max_bytes
            del buf[:cut]
            dropped += cut
    if len(buf) > max_bytes:
        cut = len(buf) - max_bytes
        del buf[:cut]
        dropped += cut
    return bytes(buf), dropped


def read_at_most(chunks: Iterable[bytes], max_bytes: int, *, what: str) -> bytes:
    """The whole stream, or ``TooLarge`` as soon as it passes ``max_bytes`` (nothing more is read)."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        if len(buf) > max_bytes:
            raise TooLarge(f"{what} is larger than the limit of {max_bytes} bytes")
    return bytes(buf)


class Demux:
    """Splits Docker's multiplexed exec/attach stream into (stream id, bytes) pieces as they
    arrive; a frame's payload is passed on piece by piece, never gathered whole."""

    def __init__(self) -> None:
        self._header = b""
        self._stream = 0
        self._left = 0  # payload bytes of the current frame still to come

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        pieces: list[tuple[int, bytes]] = []
        view = memoryview(data)
        while view:
            if self._left == 0:
                need = _FRAME.size - len(self._header)
                self._header += bytes(view[:need])
                view = view[need:]
                if len(self._header) < _FRAME.size:
                    break
                self._stream, self._left = _FRAME.unpack(self._header)
                self._header = b""
                continue
            take = bytes(view[: self._left])
            view = view[len(take) :]
            self._left -= len(take)
            pieces.append((self._stream, take))
        return pieces


def socket_pieces(raw: socket.socket, deadline: float) -> Iterator[tuple[int, bytes]]:
    """(stream id, bytes) pieces read from an exec socket until EOF; ``TimeoutError`` past ``deadline``."""
    demux = Demux()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        raw.settimeout(left)
        chunk = raw.recv(1 << 16)
        if not chunk:
            return
        yield from demux.feed(chunk)
