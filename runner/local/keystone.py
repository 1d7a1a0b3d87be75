"""A local Keystone for trying Zunray with real projects, and for its tests.

Keystone (PyPI ``keystone``) lives in its own virtual environment, keeps its
data in SQLite under a directory of its own, and is served on loopback by
gunicorn. ``zunray keystone-local up`` runs it for operators who want to try
authentication on one machine; production sites point ``ZUNRAY_KEYSTONE_URL``
at their own Keystone instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from runner.local import procs
from runner.errors import Unavailable

KEYSTONE_REQUIREMENT = "keystone>=26,<31"
GUNICORN_REQUIREMENT = "gunicorn>=21,<30"
DEFAULT_VENV = Path.home() / ".cache" / "zunray" / "keystone-venv"

_WSGI = """# Keystone parses sys.argv at import; gunicorn's own flags would make it exit.
import sys
sys.argv = sys.argv[:1]
from keystone.server.wsgi import initialize_public_application
application = initialize_public_application()
"""


def ensure_installed(venv: Path = DEFAULT_VENV) -> Path:
    """Keystone and gunicorn in ``venv`` (created once; seconds when present)."""
    marker = venv / ".zunray-keystone"
    want = f"{KEYSTONE_REQUIREMENT} {GUNICORN_REQUIREMENT}"
    if marker.exists() and marker.read_text() == want:
        return venv
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", KEYSTONE_REQUIREMENT, GUNICORN_REQUIREMENT],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise Unavailable(f"cannot install Keystone: {done.stderr[-2000:]}")
    marker.write_text(want)
    return venv


def _config(home: Path, port: int) -> Path:
    conf = home / "keystone.conf"
    conf.write_text(
        "[DEFAULT]\n"
        f"log_file = {home / 'keystone.log'}\n"
        "[database]\n"
        f"connection = sqlite:///{home / 'keystone.db'}\n"
        "[token]\nprovider = fernet\nexpiration = 3600\n"
        f"[fernet_tokens]\nkey_repository = {home / 'fernet-keys'}\n"
        f"[fernet_receipts]\nkey_repository = {home / 'fernet-keys'}\n"
        f"[credential]\nkey_repository = {home / 'credential-keys'}\n"
        "[cache]\nenabled = true\nbackend = dogpile.cache.memory\n"
        "[identity]\npassword_hash_rounds = 4\n"
    )
    return conf


def bootstrap(home: Path, *, port: int, admin_password: str, venv: Path = DEFAULT_VENV) -> Path:
    """Create Keystone's database, keys and the admin user once."""
    home.mkdir(parents=True, exist_ok=True)
    conf = _config(home, port)
    if (home / ".bootstrapped").exists():
        return conf
    manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
    env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(conf)}
    url = f"http://127.0.0.1:{port}/v3"
    steps = [
        ["db_sync"],
        ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"],
        ["credential_setup", "--keystone-user", "root", "--keystone-group", "root"],
        [
            "bootstrap",
            "--bootstrap-password",
            admin_password,
            "--bootstrap-admin-url",
            url,
            "--bootstrap-internal-url",
            url,
            "--bootstrap-public-url",
            url,
            "--bootstrap-region-id",
            "RegionOne",
        ],
    ]
    for step in steps:
        done = subprocess.run([*manage, *step], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise Unavailable(f"keystone-manage {step[0]} failed: {done.stderr[-2000:]}")
    (home / ".bootstrapped").write_text("ok")
    return conf


def serve(home: Path, *, port: int, venv: Path = DEFAULT_VENV, timeout_s: float = 60.0) -> int:
    """Start gunicorn on 127.0.0.1:port in the background; returns its PID."""
    (home / "keystone_wsgi.py").write_text(_WSGI)
    env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(home / "keystone.conf")}
    argv = [
        str(venv / "bin" / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--no-control-socket",
        "--chdir",
        str(home),
        "keystone_wsgi:application",
    ]
    pid = procs.spawn("keystone", argv, run_dir=home / "run", log_dir=home, env=env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v3", timeout=2).status_code == 200:
                return pid
        except httpx.HTTPError:
            pass
        if procs.recorded("keystone", home / "run") is None:
            break
        time.sleep(0.2)
    raise Unavailable(f"Keystone did not start; see {home / 'keystone.log'}")


def stop(home: Path) -> bool:
    return procs.stop("keystone", home / "run")
