"""Reading a container's output within a bound, without Docker."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from runner.errors import TooLarge
from runner.runtimes.bounded import Demux, keep_last, read_at_most, socket_pieces


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


@pytest.mark.parametrize("chunk", [1, 7, 1000], ids=["1-byte-chunks", "7-byte-chunks", "one-chunk"])
def test_keep_last_holds_the_tail_and_counts_the_rest(chunk: int) -> None:
    data = bytes(range(256)) * 40
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    kept, dropped = keep_last(chunks, 100)
    assert kept == data[-100:]
    assert dropped == len(data) - 100
    assert keep_last([b"short"], 100) == (b"short", 0)


def test_read_at_most_stops_reading_past_the_bound() -> None:
    pulled = []

    def endless():  # noqa: ANN202
        while True:
            pulled.append(1)
            yield b"x" * 10

    with pytest.raises(TooLarge, match="the archive is larger than the limit of 25 bytes"):
        read_at_most(endless(), 25, what="the archive")
    assert len(pulled) == 3  # nothing read after the bound was passed
    assert read_at_most([b"ab", b"cd"], 4, what="x") == b"abcd"


def test_demux_passes_frames_on_piece_by_piece() -> None:
    stream = frame(1, b"hello ") + frame(2, b"oops") + frame(1, b"world")
    pieces = []
    demux = Demux()
    for i in range(0, len(stream), 3):  # headers and payloads split anywhere
        pieces += demux.feed(stream[i : i + 3])
    out = b"".join(p for s, p in pieces if s == 1)
    err = b"".join(p for s, p in pieces if s == 2)
    assert (out, err) == (b"hello world", b"oops")


def test_a_huge_announced_frame_is_not_gathered_before_it_is_passed_on() -> None:
    demux = Demux()
    pieces = demux.feed(struct.pack(">BxxxL", 1, 0xFFFF_FFFF) + b"abc")
    assert pieces == [(1, b"abc")]


def test_socket_pieces_gives_up_at_the_deadline() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.sendall(frame(1, b"partial"))
        got = []
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            for piece in socket_pieces(a, time.monotonic() + 0.3):
                got.append(piece)
        assert got == [(1, b"partial")]
        assert time.monotonic() - began < 2
