"""Turning a Zun create request body into a ``Container`` record, with Zun's checks."""

from __future__ import annotations

import re
import uuid
from typing import Any

from gateway.caps import capped, check_free_form, parse_json
from runner.caps import (
    ENV_KEY_CHARS,
    ENV_VALUE_CHARS,
    ENV_VARS,
    HOSTNAME_CHARS,
    IMAGE_REF_CHARS,
    LABEL_CHARS,
    LABELS,
    NAME_CHARS,
    PATH_CHARS,
    SHORT_CHARS,
)
from runner.schemas import IMAGE_RE
from gateway.zun.microversion import Version, check_param
from gateway.zun.views import as_bool, command_list, cpu, memory_mb
from policies.restart import ZUN_POLICIES
from runner.containers import Container
from runner.errors import InvalidSpec
from runner.mounts import parse_zun_mounts
from runner.secret_refs import parse_refs
from runner.models import CapsuleSpec, ContainerSpec, PullPolicy, Resources

BASE_FIELDS = frozenset(
    (
        "name",
        "image",
        "command",
        "cpu",
        "memory",
        "disk",
        "environment",
        "workdir",
        "labels",
        "image_pull_policy",
        "restart_policy",
        "interactive",
        "tty",
        "image_driver",
        "security_groups",
        "hints",
        "nets",
        "availability_zone",
        "auto_heal",
        "cpu_policy",
        "auto_remove",
        "runtime",
        "hostname",
        "mounts",
        "privileged",
        "healthcheck",
        "exposed_ports",
        "registry",
    )
)
#: Zunray's extensions of Zun's body, at every version: the project's secrets given to the
#: container (``runner.secret_refs``; Zun's ``environment`` holds strings only)
EXTENSION_FIELDS = frozenset(("secrets",))
#: fields the schema itself only knows from a version on ("Additional properties are not allowed" before)
SCHEMA_FIELDS = {"host": Version(1, 39), "entrypoint": Version(1, 40)}
#: fields Zun's handler refuses below a version (api_utils.version_check: 400 invalid-param-in-version)
PARAM_VERSIONS = {
    "auto_remove": "1.3",
    "runtime": "1.5",
    "hostname": "1.9",
    "mounts": "1.11",
    "privileged": "1.21",
    "healthcheck": "1.22",
    "exposed_ports": "1.24",
    "registry": "1.31",
}
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
DEFAULT_CPU = 1.0
DEFAULT_MEMORY_MB = 512
#: fields stored as given and shown back: only their size is checked here
FREE_FORM = ("hints", "security_groups", "nets", "exposed_ports", "healthcheck", "entrypoint")


def check_name(name: Any, field: str = "name") -> str:
    """A container name, as create, PATCH and rename take it."""
    if not isinstance(name, str) or len(name) > NAME_CHARS or not NAME_RE.match(name):
        shown = repr(name)[:64] if isinstance(name, str) else type(name).__name__
        raise InvalidSpec(
            f"Invalid name {shown}: 2 to {NAME_CHARS} letters, digits, '_', '.', '-', starting with a letter or digit",
            field=field,
        )
    return name


def check_image_ref(image: Any, field: str = "image") -> str:
    """An image reference, capped before the regular expression sees it."""
    if not isinstance(image, str) or not image:
        raise InvalidSpec(f"{field} is required", field=field)
    if len(image) > IMAGE_REF_CHARS or not IMAGE_RE.match(image):
        raise InvalidSpec(f"not a valid image reference: {image[:IMAGE_REF_CHARS]!r}", field=field)
    return image


def _env(value: Any) -> dict[str, str]:
    env = value or {}
    if not isinstance(env, dict):
        raise InvalidSpec("environment must be an object", field="environment")
    if len(env) > ENV_VARS:
        raise InvalidSpec(f"at most {ENV_VARS} environment variables", field="environment")
    out = {}
    for k, v in env.items():
        capped(k, ENV_KEY_CHARS, "environment")
        out[k] = capped(str(v), ENV_VALUE_CHARS, f"environment.{k[:32]}")
    return out


def _labels(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidSpec("labels must be an object of strings", field="labels")
    if len(value) > LABELS:
        raise InvalidSpec(f"at most {LABELS} labels", field="labels")
    for k, v in value.items():
        capped(k, LABEL_CHARS, "labels")
        capped(v, LABEL_CHARS, f"labels.{k[:32]}")
    return value


def _short(body: dict, key: str, cap: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidSpec(f"{key} must be a string", field=key)
    return capped(value, cap, key)


def _restart_policy(value: Any) -> dict | None:
    if value in (None, {}, ""):
        return None
    if not isinstance(value, dict) or "Name" not in value:
        raise InvalidSpec("restart_policy must be an object with Name", field="restart_policy")
    name = value["Name"]
    if name not in ZUN_POLICIES:
        raise InvalidSpec(
            f"restart_policy Name must be one of {', '.join(ZUN_POLICIES)}",
            field="restart_policy.Name",
        )
    try:
        count = int(value.get("MaximumRetryCount", 0) or 0)
    except (TypeError, ValueError):
        raise InvalidSpec(
            "MaximumRetryCount must be an integer", field="restart_policy.MaximumRetryCount"
        ) from None
    if count < 0 or (count and name != "on-failure"):
        raise InvalidSpec(
            "MaximumRetryCount is a non-negative count, for on-failure only",
            field="restart_policy.MaximumRetryCount",
        )
    return {"Name": name, "MaximumRetryCount": str(count)}


def _cpu_policy(body: dict, cpus: float, runtime: str) -> str:
    """Zun's ``cpu_policy``: shared, or dedicated (whole cpus, pinned on one NUMA node; containers on this host only)."""
    policy = body.get("cpu_policy") or "shared"
    if policy not in ("shared", "dedicated"):
        raise InvalidSpec(
            f"cpu_policy must be shared or dedicated, not {policy!r}", field="cpu_policy"
        )
    if policy == "dedicated" and runtime in ("vm", "nova"):
        raise InvalidSpec(
            f"cpu_policy dedicated is for containers on the host, not runtime {runtime}",
            field="cpu_policy",
        )
    if policy == "dedicated" and (cpus != int(cpus) or cpus < 1):
        raise InvalidSpec(
            f"cpu_policy dedicated needs a whole number of cpus, not {cpus:g}", field="cpu_policy"
        )
    return policy


def _healthcheck(value: Any) -> dict | None:
    if not value:
        return None
    if not isinstance(value, dict) or set(value) - {
        "cmd",
        "test",
        "interval",
        "retries",
        "timeout",
    }:
        raise InvalidSpec(
            "healthcheck takes cmd, interval, retries and timeout", field="healthcheck"
        )
    out = dict(value)
    if "cmd" in out:
        out["test"] = out.pop("cmd")
    return out


def container_from_body(
    raw: bytes,
    *,
    caller,
    version: Version,
    run: bool,
    may_mount_host: bool,
    network: str | None = None,
) -> Container:  # noqa: ANN001
    body = parse_json(raw, empty={})
    if not isinstance(body, dict):
        raise InvalidSpec("the body must be a JSON object")
    unknown = sorted(
        k
        for k in body
        if k not in BASE_FIELDS | EXTENSION_FIELDS
        and not (k in SCHEMA_FIELDS and version >= SCHEMA_FIELDS[k])
    )
    if unknown:
        raise InvalidSpec(
            f"Additional properties are not allowed ({', '.join(repr(k) for k in unknown)} {'was' if len(unknown) == 1 else 'were'} unexpected)",
            field=unknown[0],
        )
    for name_, since in PARAM_VERSIONS.items():
        if body.get(name_) not in (None, [], {}):
            check_param(version, name_, since)
    if version >= Version(1, 20) and isinstance(body.get("command"), str):
        raise InvalidSpec(
            f"Invalid input for field 'command'. Value: {body['command'][:SHORT_CHARS]!r}. It is not of type 'array', 'null'",
            field="command",
        )
    name = check_name(body.get("name") or f"zun-{uuid.uuid4().hex[:12]}")
    mem = memory_mb(body["memory"]) if body.get("memory") not in (None, "") else DEFAULT_MEMORY_MB
    env = _env(body.get("environment"))
    for key in FREE_FORM:
        check_free_form(body.get(key), key)
    labels = _labels(body.get("labels"))
    workdir = _short(body, "workdir", PATH_CHARS)
    for key, cap in (
        ("hostname", HOSTNAME_CHARS),
        ("availability_zone", SHORT_CHARS),
        ("host", SHORT_CHARS),
        ("registry", SHORT_CHARS),
    ):
        _short(body, key, cap)
    runtime = body.get("runtime") or "runc"
    if runtime not in ("runc", "runsc", "vm", "nova"):
        raise InvalidSpec(
            f"runtime must be runc, runsc, vm or nova, got {runtime!r}", field="runtime"
        )
    driver = body.get("image_driver") or "docker"
    if driver not in ("docker", "glance"):
        raise InvalidSpec(
            "Invalid input for image_driver, it should be within the image drivers list (docker, glance)",
            field="image_driver",
        )
    pull = (body.get("image_pull_policy") or "ifnotpresent").lower()
    if pull not in ("ifnotpresent", "always", "never"):
        raise InvalidSpec(
            "image_pull_policy must be ifnotpresent, always or never", field="image_pull_policy"
        )
    mounts = parse_zun_mounts(body.get("mounts"), may_mount_host=may_mount_host)
    try:
        disk = int(body.get("disk") or 0)
    except (TypeError, ValueError):
        raise InvalidSpec("disk must be an integer number of GB", field="disk") from None
    main = ContainerSpec(
        image=check_image_ref(body.get("image")),  # last: the fuzzer's bodies carry no valid image
        command=tuple(command_list(body.get("command"))),
        env=env,
        workdir=workdir,
        resources=Resources(
            cpu=cpu(body["cpu"]) if body.get("cpu") not in (None, "") else DEFAULT_CPU,
            memory_mb=mem,
            disk_gb=disk,
        ),
        pull_policy=PullPolicy(pull),
        secrets=parse_refs(body.get("secrets"), env=env),
    )
    if main.secrets and runtime in ("vm", "nova"):
        raise InvalidSpec(f"secrets: runtime {runtime} takes no secrets yet", field="secrets")
    spec = {"labels": labels} if labels is not None else {}
    spec |= {
        k: body[k]
        for k in (
            "hints",
            "hostname",
            "security_groups",
            "availability_zone",
            "exposed_ports",
            "cpu_policy",
            "host",
            "entrypoint",
            "registry",
            "nets",
        )
        if body.get(k) is not None
    }
    if body.get("healthcheck"):
        spec["healthcheck"] = _healthcheck(body["healthcheck"])
    spec.update(
        restart_policy=_restart_policy(body.get("restart_policy")),
        auto_remove=as_bool(body.get("auto_remove", False), "auto_remove"),
        auto_heal=as_bool(body.get("auto_heal", False), "auto_heal"),
        interactive=as_bool(body.get("interactive", False), "interactive"),
        # 1.20-1.35: tty follows interactive; from 1.36 it is its own field
        tty=as_bool(
            body.get("tty", body.get("interactive", False))
            if version >= Version(1, 36)
            else body.get("interactive", False),
            "tty",
        ),
        privileged=as_bool(body.get("privileged", False), "privileged"),
        image_pull_policy=body.get("image_pull_policy"),
        image_driver=driver,
        runtime_requested=body.get("runtime") is not None,
        mounts=mounts,
    )
    return Container(
        uuid=str(uuid.uuid4()),
        name=name,
        project_id=caller.project_id,
        user_id=caller.user_id,
        capsule=CapsuleSpec(
            containers=(main,),
            runtime=runtime,
            network=network if runtime == "runc" else None,
            cpu_policy=_cpu_policy(body, main.resources.cpu, runtime),
            availability_zone=body.get("availability_zone") or None,
        ),
        start_on_create=run,
        spec=spec,
    )
