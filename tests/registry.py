"""A real image registry (Debian's docker-registry) on 127.0.0.1, with basic auth (or none),
and a proxy in front of one that hands out what it serves slowly (so a pull takes seconds)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import docker


@dataclass
class PrivateRegistry:
    domain: str
    username: str
    password: str

    def push(self, client: docker.DockerClient, source: str, repo: str, tag: str) -> str:
        """Push ``source`` as ``domain/repo:tag`` and drop the local copy; returns the reference."""
        ref = f"{self.domain}/{repo}"
        client.images.get(source).tag(ref, tag)
        auth = {"username": self.username, "password": self.password}
        for line in client.api.push(ref, tag=tag, auth_config=auth, stream=True, decode=True):
            assert "error" not in line, line
        client.images.remove(f"{ref}:{tag}")
        return f"{ref}:{tag}"


def start_registry(
    workdir: Path, port: int, *, auth: bool = True
) -> tuple[subprocess.Popen, PrivateRegistry]:
    """The registry on 127.0.0.1:``port``; without ``auth`` anyone pulls (jobs pull without credentials)."""
    htpasswd = workdir / "htpasswd"
    subprocess.run(
        ["htpasswd", "-Bbc", str(htpasswd), "zunray", "s3cret-pass"],
        check=True,
        capture_output=True,
    )
    (workdir / "data").mkdir(exist_ok=True)
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        + (f"auth:\n  htpasswd:\n    realm: zunray-test\n    path: {htpasswd}\n" if auth else "")
    )
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "registry.log", "wb"),
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, (workdir / "registry.log").read_text()
            assert time.monotonic() < deadline, "registry did not start"
            time.sleep(0.1)
    return proc, PrivateRegistry(
        domain=f"127.0.0.1:{port}", username="zunray", password="s3cret-pass"
    )


class SlowProxy:
    """127.0.0.1:``port`` forwards to 127.0.0.1:``target``, sending back at most ``bytes_per_s``
    per connection (what is sent to the target goes at full speed: a push stays quick)."""

    def __init__(self, port: int, target: int, *, bytes_per_s: int) -> None:
        self.port, self.target, self.bytes_per_s = port, target, bytes_per_s
        self._server = socket.create_server(("127.0.0.1", port))
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, self.bytes_per_s), daemon=True
            ).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, bytes_per_s: int | None) -> None:
        chunk = 65536 if bytes_per_s is None else max(1, bytes_per_s // 20)
        try:
            while data := src.recv(chunk):
                dst.sendall(data)
                if bytes_per_s is not None:
                    time.sleep(len(data) / bytes_per_s)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the other side went away

    def close(self) -> None:
        self._server.close()
        for conn in self._conns:
            conn.close()
