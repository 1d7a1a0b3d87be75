"""A real private image registry (Debian's docker-registry) on 127.0.0.1, with basic auth."""

from __future__ import annotations

import socket
import subprocess
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


def start_registry(workdir: Path, port: int) -> tuple[subprocess.Popen, PrivateRegistry]:
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
        f"auth:\n  htpasswd:\n    realm: zunray-test\n    path: {htpasswd}\n"
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
