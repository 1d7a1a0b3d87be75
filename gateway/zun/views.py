"""How a container looks in the Zun API, per microversion, and request parsing helpers."""

from __future__ import annotations

import re
import shlex
from datetime import datetime, timezone
from typing import Any

from gateway.caps import capped
from runner.secret_refs import ref_views
from runner.caps import COMMAND_ARG_CHARS, COMMAND_ARGS, COMMAND_LINE_CHARS, MEMORY_CHARS
from gateway.zun.microversion import Version
from runner.containers import Container
from runner.errors import InvalidSpec

_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}
#: after strip(): one run of blanks between two fixed parts, so matching is linear in the length
MEMORY_RE = re.compile(r"(\d+)\s*([kKmMgG]?)[bB]?")


def as_bool(value: Any, field: str) -> bool:
    """oslo's strict bool_from_string, as Zun applies it to query parameters."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidSpec(f"Valid {field} values are: {', '.join(sorted(_TRUE | _FALSE))}", field=field)


def memory_mb(value: Any, field: str = "memory") -> int:
    """Zun's memory: a number of MB, or a string with a k/m/g suffix."""
    text = str(value)
    m = MEMORY_RE.fullmatch(text.strip()) if len(text) <= MEMORY_CHARS else None
    if not m:
        raise InvalidSpec(
            f"Invalid memory {text[:MEMORY_CHARS]!r}: a number of MB, optionally with a k, m or g suffix",
            field=field,
        )
    number, unit = int(m.group(1)), m.group(2).lower()
    mb = {"k": number // 1024, "g": number * 1024}.get(unit, number)
    if mb < 6:
        raise InvalidSpec(f"memory must be at least 6 MB, got {value!r}", field=field)
    return mb


def cpu(value: Any) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise InvalidSpec(f"Invalid cpu {value!r}: a number of cores", field="cpu") from None
    if not 0 < result <= 1024:
        raise InvalidSpec(f"cpu must be in (0, 1024], got {value!r}", field="cpu")
    return result


def command_list(value: Any, field: str = "command") -> list[str]:
    """A command as a list or as one shell-quoted string (capped before shlex, which is slow per character)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            argv = shlex.split(capped(value, COMMAND_LINE_CHARS, field))
        except ValueError as exc:
            raise InvalidSpec(f"cannot parse {field}: {exc}", field=field) from None
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        argv = value
    else:
        raise InvalidSpec(f"{field} must be a string or a list of strings", field=field)
    if len(argv) > COMMAND_ARGS:
        raise InvalidSpec(
            f"{field} has {len(argv)} arguments, over the limit of {COMMAND_ARGS}", field=field
        )
    for i, arg in enumerate(argv):
        capped(arg, COMMAND_ARG_CHARS, f"{field}[{i}]")
    return argv


def zun_time(ts: float | None) -> str | None:
    """Zun prints times as str(datetime) in UTC: "2019-05-18 21:02:12.304734"."""
    return (
        None
        if ts is None
        else str(datetime.fromtimestamp(ts, tz=timezone.utc).replace(tzinfo=None))
    )


def action_time(ts: float | None) -> str | None:
    return (
        None
        if ts is None
        else datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    )


NO_RESTART = {"Name": "no", "MaximumRetryCount": "0"}
ADMIN_ONLY = ("host", "image_pull_policy", "privileged", "runtime")


def container_view(
    c: Container, version: Version, base_url: str | None, *, admin: bool
) -> dict[str, Any]:
    """The container as Zun shows it; ``base_url`` None (lists) leaves out the links."""
    main = c.capsule.containers[0]
    spec = c.spec
    command: Any = list(main.command)
    if version < Version(1, 20):
        command = shlex.join(command) if command else None
    view = {
        "uuid": c.uuid,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "name": c.name,
        "image": main.image,
        "command": command,
        "status": c.status.value,
        "status_reason": c.status_reason or None,
        "task_state": c.task_state,
        "cpu": main.resources.cpu,
        "memory": str(main.resources.memory_mb),
        "environment": dict(main.env),
        "secrets": ref_views(main.secrets),  # a Zunray extension: the references, never values
        "workdir": main.workdir,
        "ports": spec.get("ports") or [],
        "hostname": spec.get("hostname"),
        "labels": spec.get("labels", {}),
        "addresses": {},  # network name -> addresses; {} until a network reports one (Zun clients iterate it)
        "image_pull_policy": spec.get("image_pull_policy"),
        "host": c.host,
        "restart_policy": spec.get("restart_policy") or NO_RESTART,
        "status_detail": c.status_detail or None,
        "interactive": bool(spec.get("interactive")),
        "tty": bool(spec.get("tty")),
        "image_driver": spec.get("image_driver", "docker"),
        "security_groups": spec.get("security_groups"),
        "auto_remove": bool(spec.get("auto_remove")),
        "runtime": c.capsule.runtime,
        "disk": int(main.resources.disk_gb),
        "auto_heal": bool(spec.get("auto_heal")),
        "privileged": bool(spec.get("privileged")),
        "healthcheck": spec.get("healthcheck"),
        "cpu_policy": spec.get("cpu_policy") or "shared",
        "registry_id": spec.get("registry_id"),
        "entrypoint": spec.get("entrypoint"),
        "created_at": zun_time(c.created_at),
        "updated_at": zun_time(c.updated_at),
    }
    if base_url is not None:
        view["links"] = [
            {"href": f"{base_url}/v1/containers/{c.uuid}", "rel": "self"},
            {"href": f"{base_url}/containers/{c.uuid}", "rel": "bookmark"},
        ]
    if not admin:
        for key in ADMIN_ONLY:
            view.pop(key)
    return view


def action_view(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": a["action"],
        "container_uuid": a["container_uuid"],
        "request_id": a["request_id"],
        "user_id": a["user_id"],
        "project_id": a["project_id"],
        "start_time": action_time(a["start_time"]),
        "finish_time": action_time(a["finish_time"]),
        "message": a["message"],
    }
