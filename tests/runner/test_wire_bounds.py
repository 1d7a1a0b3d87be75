"""A function's reply over the limit is refused from its announced length, before it is read."""

from __future__ import annotations

import asyncio
import socket

import pytest

from runner.functions import wire


def test_call_sync_refuses_an_oversized_reply_unread() -> None:
    host, shim = socket.socketpair()
    with host, shim:
        shim.sendall(wire.HEADER.pack(b"R", 1 << 31))  # announces 2 GiB, sends none of it
        with pytest.raises(wire.ReplyTooLarge, match="2147483648 bytes, over the limit of 1024"):
            wire.call_sync(host, {}, b"", 5, max_bytes=1024)


def test_call_async_refuses_an_oversized_reply_unread() -> None:
    async def run() -> None:
        host, shim = socket.socketpair()
        reader, writer = await asyncio.open_unix_connection(sock=host)
        shim.sendall(wire.HEADER.pack(b"B", 4096) + b"x" * 10)
        with pytest.raises(wire.ReplyTooLarge):
            await wire.call_async(reader, writer, {}, b"", 5, max_bytes=1024)
        writer.close()
        shim.close()

    asyncio.run(run())


def test_a_reply_within_the_limit_is_read() -> None:
    host, shim = socket.socketpair()
    with host, shim:
        shim.sendall(wire.HEADER.pack(b"R", 2) + b"{}")
        assert wire.call_sync(host, {}, b"", 5, max_bytes=2) == wire.Reply("json", b"{}")
