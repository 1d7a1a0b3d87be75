"""A job's output by byte offset: what is kept of it, and where that lies in all it printed.

Only the last ``log_max_bytes`` of a job's output are kept, but offsets count every
byte it printed, so a follower that resumes at an offset goes on past any size. A
reader that fell behind what is kept gets one notice of what it missed, never a
fragment cut at the wrong place.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

LOG_OFFSET_HEADER = "Zunray-Log-Offset"  # where a logs response ends (or a followed one starts), in bytes of all the job printed


@dataclass(frozen=True)
class LogRead:
    """What a reader gets from a given offset on."""

    data: bytes  # the output from ``start`` on; first a skip notice if the reader fell behind what is kept
    start: int  # the offset asked for, or 0 if the output started again
    end: int  # the offset after the output: where to read on


def skip_notice(skipped: int) -> bytes:
    return f"[zunray: {skipped} bytes skipped]\n".encode()


def read_from(kept: bytes, total: int, offset: int) -> LogRead:
    """The output past ``offset`` when ``kept`` are the last bytes of ``total`` printed.

    An offset past ``total`` means the output started again (a retried job's new
    attempt): it is read from its start.
    """
    first = total - len(kept)  # the offset of kept[0]
    if offset > total:
        offset = 0
    if offset >= first:
        return LogRead(kept[offset - first :], offset, total)
    return LogRead(skip_notice(first - offset) + kept, offset, total)


class LogTail:
    """The last ``max_bytes`` of an output as it is written, and how long it is so far.

    Thread-safe: several readers of containers write, followers read. Chunks are
    kept as written, so trimming costs nothing per byte; memory stays under
    ``max_bytes`` plus one chunk.
    """

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._chunks: deque[bytes] = deque()
        self._size = 0  # bytes in _chunks
        self._total = 0  # bytes ever written
        self._source: str | None = None  # who wrote last (for headers when several write)
        self._closed = False
        self._lock = threading.Lock()

    def write(self, data: bytes, *, source: str | None = None) -> None:
        """Add output; with ``source`` (several containers), a ``==> source <==`` header
        goes before it whenever the writer changes, as ``tail -f`` does with several files."""
        with self._lock:
            if self._closed:
                return
            if source is not None and source != self._source:
                self._source = source
                self._append(f"==> {source} <==\n".encode())
            self._append(data)

    def _append(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        self._total += len(data)
        while self._chunks and self._size - len(self._chunks[0]) >= self.max_bytes:
            self._size -= len(self._chunks.popleft())

    def kept(self) -> tuple[bytes, int]:
        """The last ``max_bytes`` and how many bytes came before them (as the store keeps logs)."""
        with self._lock:
            data = b"".join(self._chunks)[-self.max_bytes :] if self.max_bytes else b""
            return data, self._total - len(data)

    def close(self) -> tuple[bytes, int]:
        """What is kept for good (as ``kept``); later writes (a reader that outlived its wait) are dropped,
        so the copy the store keeps and the live one agree."""
        with self._lock:
            self._closed = True
        return self.kept()
