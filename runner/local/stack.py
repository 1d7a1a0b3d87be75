"""Bringing a whole single-machine Zunray up and down: Ray head, then gateway.

``up`` is idempotent: parts already running are left alone. The gateway
creates the actors (``actors.bootstrap.ensure_actors``) when it starts.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

import httpx

from runner.local import procs
from runner.errors import Unavailable
from runner.private_files import FILE_MODE, private_dir, secure_data_dir
from runner.settings import Settings
from runner.store import Store

READY_TIMEOUT_S = 90.0


def _log_dir(settings: Settings) -> Path:
    return settings.data_dir / "logs"


def process_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(settings.to_env())
    env.update(settings.ray_env())
    return env


def health(settings: Settings, timeout_s: float = 2.0) -> dict | None:
    """The gateway's /healthz body, or None if it does not answer."""
    try:
        return httpx.get(f"{settings.gateway_url}/healthz", timeout=timeout_s).json()
    except (httpx.HTTPError, ValueError):
        return None


def _settled(body: dict | None) -> bool:
    """The gateway answers and has heard from its hosts (healthy or not): anything but "starting"."""
    return body is not None and body.get("status") in ("ok", "unavailable")


def ensure_ray_token(settings: Settings) -> None:
    """Write a Ray auth token (owner-only) unless there is one; see Settings.ray_auth_mode."""
    path = settings.ray_token_file
    if settings.ray_auth_mode != "token" or path.exists():
        return
    if not path.parent.exists():
        private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))


def _start_ray(settings: Settings) -> bool:
    """Start the Ray head unless it runs (or the cluster is another's); True when it was started."""
    if settings.ray_address or procs.recorded("ray", settings.run_dir):
        return False
    ensure_ray_token(settings)
    ray_bin = str(Path(sys.executable).with_name("ray"))
    log_path = _log_dir(settings) / "ray.log"
    start = log_path.stat().st_size if log_path.exists() else 0
    procs.spawn(
        "ray",
        [
            ray_bin,
            "start",
            "--head",
            "--block",
            f"--port={settings.ray_port}",
            f"--node-ip-address={settings.ray_node_ip}",
            "--include-dashboard=false",
            f"--object-store-memory={settings.ray_object_store_mb * 1024 * 1024}",
            f"--num-cpus={os.cpu_count() or 1}",
            "--disable-usage-stats",
        ],
        run_dir=settings.run_dir,
        log_dir=_log_dir(settings),
        env=process_env(settings),
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        with open(log_path, "rb") as f:
            f.seek(start)
            text = f.read().decode(errors="replace")
        if "Ray runtime started" in text:
            return True
        if procs.recorded("ray", settings.run_dir) is None:
            raise Unavailable(f"Ray head failed to start; see {log_path}:\n{text[-2000:]}")
        time.sleep(0.2)
    raise Unavailable(f"Ray head not ready after {READY_TIMEOUT_S:g} s; see {log_path}")


def up(settings: Settings) -> dict:
    """Start what is not running yet; wait until the gateway has heard from its hosts.

    What runs is known from the PID files (checked against each process's start
    time: a stale file is ignored). A new Ray head gets a new gateway too.

    Returns the /healthz body: ``status`` is ``ok`` or says what is wrong
    (e.g. no Docker engine), which the caller shows.
    """
    secure_data_dir(settings)
    store = Store(settings.store_url_resolved)
    store.migrate()
    store.close()
    if _start_ray(settings):
        # a gateway that outlived its Ray head (killed, crashed) holds a connection to a cluster that is gone
        procs.stop("gateway", settings.run_dir)
    started = False
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _settled(body := health(settings)):
        if procs.recorded("gateway", settings.run_dir) is None:
            # also when a gateway that was still dying at the first look is gone now
            if started:
                tail = (_log_dir(settings) / "gateway.log").read_text(errors="replace")[-3000:]
                raise Unavailable(f"the gateway exited; its log ends with:\n{tail}")
            procs.spawn(
                "gateway",
                [sys.executable, "-m", "gateway"],
                run_dir=settings.run_dir,
                log_dir=_log_dir(settings),
                env=process_env(settings),
            )
            started = True
        if time.monotonic() > deadline:
            raise Unavailable(
                f"the gateway is not ready after {READY_TIMEOUT_S:g} s; see {_log_dir(settings) / 'gateway.log'}"
            )
        time.sleep(0.2)
    return body


def down(settings: Settings) -> list[str]:
    """Stop the gateway, then Ray; returns the names of what was running."""
    return [name for name in ("gateway", "ray") if procs.stop(name, settings.run_dir)]
