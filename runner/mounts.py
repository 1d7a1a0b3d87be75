"""What a Zun container may mount: its project's named volumes, files, and (admins) host paths.

A member names a volume; the volume Docker sees is that name inside the
project's own namespace (``project_volume``), so no name a member can write
reaches another project's volume, a capsule's volume or a host path. A
``source`` that looks like a path (``/``, ``..``) is a host mount: the gateway
checks the access rule ``container:create:host_mounts`` (admin only by default)
before it stores one, and the node mounts it as given.

Zun's ``type: bind`` mounts carry a file's content (base64); the node copies
the file in, no host path is involved.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from typing import Any

from runner.errors import Forbidden, InvalidSpec

VOLUME_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
MAX_MOUNTS = 16
MAX_PATH_CHARS = 1024
MAX_BIND_FILE_BYTES = 1 << 20
HOST_MOUNTS_RULE = "container:create:host_mounts"


def _absolute(path: Any, field: str, what: str) -> str:
    if (
        not isinstance(path, str)
        or not path.startswith("/")
        or len(path) > MAX_PATH_CHARS
        or "\x00" in path
    ):
        raise InvalidSpec(
            f"{field} must be an absolute path of at most {MAX_PATH_CHARS} characters", field=field
        )
    if ".." in path.split("/") or posixpath.normpath(path) != path.rstrip("/") and path != "/":
        raise InvalidSpec(
            f"{field}: {what} must be a normalised absolute path (no '..', '.' or '//')",
            field=field,
        )
    return path


def is_host_path(source: str) -> bool:
    """A source that names a place on the host rather than a volume."""
    return (
        "/" in source
        or ".." in source
        or source.startswith(".")
        or source == "~"
        or source.startswith("~")
    )


def parse_zun_mounts(raw: Any, *, may_mount_host: bool) -> list[dict[str, Any]]:
    """Zun's ``mounts`` (1.11+) checked and normalised, as stored.

    Raises Forbidden for a host path unless ``may_mount_host`` (the caller passes
    the access rule HOST_MOUNTS_RULE), before looking at the path any closer;
    InvalidSpec naming the field for anything malformed.
    """
    if raw in (None, []):
        return []
    if not isinstance(raw, list):
        raise InvalidSpec("mounts must be a list", field="mounts")
    if len(raw) > MAX_MOUNTS:
        raise InvalidSpec(f"at most {MAX_MOUNTS} mounts", field="mounts")
    items: list[dict[str, Any]] = []
    for i, m in enumerate(raw):
        where = f"mounts[{i}]"
        if not isinstance(m, dict):
            raise InvalidSpec(f"{where} must be an object", field=where)
        destination = _absolute(m.get("destination"), f"{where}.destination", "the destination")
        kind = m.get("type", "volume")
        source = m.get("source")
        if (
            kind == "bind"
        ):  # Zun's file injection: the client sends the file's content, base64-encoded
            try:
                if (
                    not isinstance(source, str)
                    or len(base64.b64decode(source, validate=True)) > MAX_BIND_FILE_BYTES
                ):
                    raise InvalidSpec(
                        f"{where}: the file is over {MAX_BIND_FILE_BYTES} bytes",
                        field=f"{where}.source",
                    )
            except binascii.Error:
                raise InvalidSpec(
                    f"{where}.source must be the file's content in base64", field=f"{where}.source"
                ) from None
            items.append({"type": "bind", "source": source, "destination": destination})
        elif kind == "volume":
            if source in (None, ""):
                raise InvalidSpec(
                    f"{where}.source must name a volume of the project", field=f"{where}.source"
                )
            if not isinstance(source, str):
                raise InvalidSpec(f"{where}.source must be a string", field=f"{where}.source")
            if is_host_path(source):
                if not may_mount_host:
                    raise Forbidden(
                        f"Policy doesn't allow {HOST_MOUNTS_RULE} to be performed: a member mounts its project's named volumes only"
                    )
                items.append(
                    {
                        "type": "host",
                        "source": _absolute(source, f"{where}.source", "a host path"),
                        "destination": destination,
                    }
                )
            elif VOLUME_NAME_RE.fullmatch(source):
                items.append({"type": "volume", "source": source, "destination": destination})
            else:
                raise InvalidSpec(
                    f"{where}.source: a volume name is letters, digits, '_', '.', '-' (at most 63)",
                    field=f"{where}.source",
                )
        else:
            raise InvalidSpec(f"{where}.type must be volume or bind", field=f"{where}.type")
        if m.get("read_only") is not None and not isinstance(m.get("read_only"), bool):
            raise InvalidSpec(f"{where}.read_only must be a boolean", field=f"{where}.read_only")
        if m.get("read_only") and kind == "volume":
            items[-1]["read_only"] = True
    return items


def project_volume(instance: str, project_id: str, name: str) -> str:
    """The Docker volume behind a project's volume ``name`` (one namespace per project)."""
    return f"{instance}-vol-{project_id}-{name}"


def docker_binds(
    mounts: list[dict[str, Any]], *, instance: str, project_id: str
) -> tuple[list[str], list[str]]:
    """(binds for Docker, project volumes they use). Mounts stored before host paths were
    told apart (type volume with a path source) are treated as the volume name they spell."""
    binds: list[str] = []
    volumes: list[str] = []
    for m in mounts:
        suffix = ":ro" if m.get("read_only") else ""
        if m.get("type") == "host":
            binds.append(f"{m['source']}:{m['destination']}{suffix}")
        elif m.get("type", "volume") == "volume" and m.get("source"):
            name = project_volume(
                instance,
                project_id,
                re.sub(r"[^A-Za-z0-9_.-]", "_", m["source"]).lstrip("._-") or "_",
            )
            volumes.append(name)
            binds.append(f"{name}:{m['destination']}{suffix}")
    return binds, volumes
