"""A job's output by byte offset: what a reader gets from where it stopped (pure, no Ray or Docker)."""

from __future__ import annotations

import threading

import pytest

from runner.log_tail import LogTail, read_from, skip_notice


@pytest.mark.parametrize(
    ("kept", "total", "offset", "data", "end"),
    [
        (b"hello", 5, 0, b"hello", 5),
        (b"hello", 5, 2, b"llo", 5),
        (b"hello", 5, 5, b"", 5),
        (b"6789", 10, 6, b"6789", 10),  # the first kept byte
        (b"6789", 10, 8, b"89", 10),  # past the first kept byte: no notice, no fragment
        (
            b"6789",
            10,
            0,
            skip_notice(6) + b"6789",
            10,
        ),  # behind what is kept: told once how much it missed
        (b"6789", 10, 5, skip_notice(1) + b"6789", 10),
        (
            b"abc",
            3,
            7,
            b"abc",
            3,
        ),  # past the end: the output started again (a retry): from its start
        (b"", 0, 0, b"", 0),
    ],
    ids=[
        "all",
        "middle",
        "at-end",
        "first-kept",
        "past-first-kept",
        "far-behind",
        "just-behind",
        "restarted",
        "empty",
    ],
)
def test_read_from_offset(kept, total, offset, data, end):
    read = read_from(kept, total, offset)
    assert (read.data, read.end) == (data, end)


def test_a_follower_that_keeps_up_reads_every_byte_past_the_bound():
    tail = LogTail(max_bytes=1000)
    seen, offset = b"", 0
    for i in range(50):  # 50 x 300 bytes: fifteen times what is kept
        tail.write(bytes([65 + i % 26]) * 300)
        kept, dropped = tail.kept()
        read = read_from(kept, dropped + len(kept), offset)
        seen, offset = seen + read.data, read.end
    assert offset == 15000
    assert seen == b"".join(bytes([65 + i % 26]) * 300 for i in range(50))


def test_a_follower_that_fell_behind_gets_one_notice_then_the_kept_bytes():
    tail = LogTail(max_bytes=1000)
    for _ in range(10):
        tail.write(b"x" * 299 + b"\n")
    kept, dropped = tail.kept()
    assert (len(kept), dropped) == (1000, 2000)  # memory stays at the bound
    read = read_from(kept, dropped + len(kept), 500)
    assert read.data == b"[zunray: 1500 bytes skipped]\n" + kept
    assert read.end == 3000
    assert read_from(kept, 3000, read.end).data == b""  # nothing more, and no stray fragment


def test_several_writers_get_a_header_when_the_writer_changes():
    tail = LogTail(max_bytes=1 << 10)
    tail.write(b"a1\n", source="a")
    tail.write(b"a2\n", source="a")
    tail.write(b"b1\n", source="b")
    tail.write(b"a3\n", source="a")
    assert tail.kept() == (b"==> a <==\na1\na2\n==> b <==\nb1\n==> a <==\na3\n", 0)


def test_what_is_kept_stays_put_once_closed():
    tail = LogTail(max_bytes=8)
    tail.write(b"0123456789")
    assert tail.close() == (b"23456789", 2)
    tail.write(b"late")  # a reader that outlived its wait
    assert tail.kept() == (b"23456789", 2)


def test_concurrent_writes_are_all_counted():
    tail = LogTail(max_bytes=100)

    def write() -> None:
        for _ in range(1000):
            tail.write(b"0123456789")

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kept, dropped = tail.kept()
    assert (len(kept), dropped + len(kept)) == (100, 40000)
