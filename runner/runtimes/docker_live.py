"""Operations on a live container, for the Zun API: lifecycle actions, exec
(and the TTY streams of interactive shells), top, stats, archives, resource updates, rename and commit.

Kept apart from ``docker.py`` (create/wait/remove of capsules) to keep each
module to one job. Docker errors become ``runner.errors`` here too.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from runner.errors import InvalidSpec, TooLarge
from runner.runtimes.bounded import keep_last, read_at_most, socket_pieces
from runner.runtimes.docker import DockerRuntime


class ContainerOps:
    """Zun-style operations on one engine's containers (by Docker id)."""

    def __init__(self, runtime: DockerRuntime) -> None:
        self.runtime = runtime

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.runtime._call(method, *args, **kwargs)  # noqa: SLF001 - same driver, one error translation

    def state(self, cid: str) -> dict:
        return self._call("inspect_container", cid)["State"]

    def inspect(self, cid: str) -> dict:
        return self._call("inspect_container", cid)

    def start(self, cid: str) -> None:
        self._call("start", cid)

    def stop(self, cid: str, timeout_s: int) -> None:
        self._call("stop", cid, timeout=timeout_s)

    def restart(self, cid: str, timeout_s: int) -> None:
        self._call("restart", cid, timeout=timeout_s)

    def pause(self, cid: str) -> None:
        self._call("pause", cid)

    def unpause(self, cid: str) -> None:
        self._call("unpause", cid)

    def kill(self, cid: str, signal: str | None) -> None:
        self._call("kill", cid, signal=signal or "SIGKILL")

    def execute(
        self, cid: str, command: list[str], *, max_bytes: int, timeout_s: float
    ) -> tuple[str, int | None]:
        """Run ``command`` inside; its combined output and exit code (None while it still runs).

        Only the first ``max_bytes`` of output are kept; the rest is read and dropped
        until the command ends (Docker cannot kill an exec, and one that is not read
        blocks for ever), at most ``timeout_s``. The output then ends with a line that
        says what was cut.
        """
        exec_id = self._call("exec_create", cid, command, stdout=True, stderr=True)["Id"]
        sock = self._call("exec_start", exec_id, socket=True)
        kept = bytearray()
        total = 0
        notes = []
        try:
            for _, piece in socket_pieces(
                getattr(sock, "_sock", sock), time.monotonic() + timeout_s
            ):
                total += len(piece)
                if len(kept) < max_bytes:
                    kept += piece[: max_bytes - len(kept)]
        except (socket.timeout, TimeoutError):
            notes.append(f"still running after {timeout_s:g} s")
        finally:
            sock.close()
        if total > max_bytes:
            notes.insert(
                0, f"output truncated at {max_bytes} bytes, {total - max_bytes} more not shown"
            )
        state = self._call("exec_inspect", exec_id)
        code = (
            None
            if state.get("Running") or state.get("ExitCode") is None
            else int(state["ExitCode"])
        )
        note = f"\n[zunray: {'; '.join(notes)}]\n" if notes else ""
        return bytes(kept).decode(errors="replace") + note, code

    def execute_stdin(
        self, cid: str, command: list[str], stdin: bytes, *, timeout_s: float, max_bytes: int
    ) -> tuple[bytes, bytes, int]:
        """Run ``command`` inside with ``stdin`` as its input; (stdout, stderr, exit code).

        Raises ``TimeoutError`` when it does not finish within ``timeout_s`` (the process
        is left to the caller, who replaces the container), ``TooLarge`` past ``max_bytes``
        of stdout; of stderr only the last ``max_bytes`` are kept.
        """
        exec_id = self._call("exec_create", cid, command, stdin=True, stdout=True, stderr=True)[
            "Id"
        ]
        sock = self._call("exec_start", exec_id, socket=True)
        raw = getattr(sock, "_sock", sock)
        deadline = time.monotonic() + timeout_s
        try:
            raw.settimeout(timeout_s)
            raw.sendall(stdin)
            raw.shutdown(socket.SHUT_WR)
            out, err = bytearray(), bytearray()
            for stream, piece in socket_pieces(raw, deadline):
                if stream == 2:
                    err += piece
                    del err[:-max_bytes]
                    continue
                out += piece
                if len(out) > max_bytes:
                    raise TooLarge(f"the command printed more than the limit of {max_bytes} bytes")
        except (socket.timeout, TimeoutError) as exc:
            raise TimeoutError(f"no answer within {timeout_s:g} s") from exc
        finally:
            sock.close()
        code = self._call("exec_inspect", exec_id)["ExitCode"]
        return bytes(out), bytes(err), int(code if code is not None else -1)

    def exec_create(self, cid: str, command: list[str]) -> str:
        """An exec of ``command`` with a TTY and stdin, not started (an interactive shell); its id."""
        return self._call(
            "exec_create", cid, command, stdin=True, stdout=True, stderr=True, tty=True
        )["Id"]

    def tty_socket(self, cid: str, exec_id: str | None) -> Any:
        """The two-way stream of an exec (started now) or, with no ``exec_id``, of the
        container's own stdin/stdout (attach, without past logs). Raw bytes with a TTY,
        Docker's multiplexed frames without. What docker-py returns, kept whole (it holds the
        HTTP response that owns the connection): its ``_sock``, when it has one, is the socket."""
        if exec_id is not None:
            sock = self._call("exec_start", exec_id, tty=True, socket=True)
        else:
            params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1, "logs": 0}
            sock = self._call("attach_socket", cid, params=params)
        return sock

    def tty_resize(self, cid: str, height: int, width: int, exec_id: str | None) -> None:
        """The TTY size of an exec, or with no ``exec_id`` of the container itself."""
        if exec_id is not None:
            self._call("exec_resize", exec_id, height=height, width=width)
        else:
            self._call("resize", cid, height=height, width=width)

    def logs(
        self,
        cid: str,
        *,
        stdout: bool,
        stderr: bool,
        timestamps: bool,
        tail: str | int,
        since: int | None,
        max_bytes: int,
    ) -> str:
        """The logs as asked, streamed: only their last ``max_bytes`` are held (and returned, after a line saying so)."""
        kwargs: dict[str, Any] = {
            "stdout": stdout,
            "stderr": stderr,
            "timestamps": timestamps,
            "tail": tail,
            "stream": True,
            "follow": False,
        }
        if since:
            kwargs["since"] = since
        data, dropped = keep_last(self._call("logs", cid, **kwargs), max_bytes)
        note = f"[zunray: {dropped} earlier bytes not shown (log_max_bytes)]\n" if dropped else ""
        return note + data.decode(errors="replace")

    def top(self, cid: str, ps_args: str | None) -> dict:
        return self._call("top", cid, ps_args=ps_args or None)

    def stats(self, cid: str) -> dict:
        """Zun's summary of one stats sample."""
        s = self._call("stats", cid, decode=False, stream=False)
        cpu_delta = (
            s["cpu_stats"]["cpu_usage"]["total_usage"]
            - s["precpu_stats"]["cpu_usage"]["total_usage"]
        )
        sys_delta = s["cpu_stats"].get("system_cpu_usage", 0) - s["precpu_stats"].get(
            "system_cpu_usage", 0
        )
        ncpu = s["cpu_stats"].get("online_cpus") or len(
            s["cpu_stats"]["cpu_usage"].get("percpu_usage") or [1]
        )
        cpu_pct = (cpu_delta / sys_delta) * ncpu * 100.0 if sys_delta > 0 else 0.0
        mem = s.get("memory_stats", {})
        usage, limit = mem.get("usage", 0), mem.get("limit", 0)
        io_read = io_write = 0
        for entry in (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
            if entry["op"] == "Read":
                io_read += entry["value"]
            elif entry["op"] == "Write":
                io_write += entry["value"]
        nets = s.get("networks") or {}
        return {
            "CONTAINER": s.get("name", "").lstrip("/"),
            "CPU %": round(cpu_pct, 2),
            "MEM USAGE(MiB)": round(usage / (1 << 20), 2),
            "MEM LIMIT(MiB)": round(limit / (1 << 20), 2),
            "MEM %": round(usage / limit * 100.0, 2) if limit else 0.0,
            "BLOCK I/O(B)": f"{io_read}/{io_write}",
            "NET I/O(B)": f"{sum(n.get('rx_bytes', 0) for n in nets.values())}/{sum(n.get('tx_bytes', 0) for n in nets.values())}",
        }

    def get_archive(self, cid: str, path: str, *, max_bytes: int) -> tuple[bytes, dict]:
        """A tar of ``path``; ``TooLarge`` once it passes ``max_bytes`` (reading stops there)."""
        stream, stat = self._call("get_archive", cid, path)
        if stat.get("size", 0) > max_bytes:  # a single file says its size up front
            raise TooLarge(
                f"{path} is {stat['size']} bytes, larger than the archive limit of {max_bytes} bytes",
                field="path",
            )
        try:
            return read_at_most(stream, max_bytes, what=f"the archive of {path}"), stat
        except TooLarge as exc:
            raise TooLarge(exc.message, field="path") from None
        finally:
            stream.close()

    def put_archive(self, cid: str, path: str, data: bytes) -> None:
        if not self._call("put_archive", cid, path, data):
            raise InvalidSpec(f"could not extract the archive into {path}", field="path")

    def update(self, cid: str, *, cpu: float | None, memory_mb: int | None) -> None:
        """Change the live limits. docker-py's update_container has no NanoCpus: raw API call."""
        body: dict[str, int] = {}
        if cpu is not None:
            body["NanoCpus"] = int(cpu * 1e9)
        if memory_mb is not None:
            body["Memory"] = body["MemorySwap"] = memory_mb * 1024 * 1024
        if body:
            api = self.runtime._api  # noqa: SLF001 - the same driver
            resp = api._post_json(api._url("/containers/{0}/update", cid), data=body)  # noqa: SLF001
            self._call("_raise_for_status", resp)

    def rename(self, cid: str, name: str) -> None:
        self._call("rename", cid, name)

    def commit(self, cid: str, repository: str, tag: str | None) -> str:
        return self._call("commit", cid, repository=repository, tag=tag)["Id"]
