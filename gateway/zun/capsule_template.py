"""Zun's capsule template (``kind``, ``metadata``, ``spec``) to a ``Capsule``.

Each error names the field at fault (400). Volumes are local named volumes
(Cinder is not here); a ``cinder`` section is accepted and its size ignored.
Zunray adds ``spec.runtime``: ``runc`` (the default), ``vm`` (the whole
capsule in one QEMU virtual machine) or ``nova`` (on a Nova server's engine),
both without a network; access rule ``capsule:create:runtime``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from gateway.caps import capped, parse_json
from runner.caps import (
    CAPSULE_CONTAINERS,
    ENV_KEY_CHARS,
    ENV_VALUE_CHARS,
    ENV_VARS,
    LABEL_CHARS,
    LABELS,
    NAME_CHARS,
    PATH_CHARS,
    SHORT_CHARS,
)
from gateway.zun.create import check_image_ref
from gateway.zun.views import command_list, cpu, memory_mb
from runner.containers import Capsule
from runner.errors import Forbidden, InvalidSpec
from runner.models import CapsuleSpec, ContainerSpec, PullPolicy, Resources, VolumeMount
from runner.mounts import HOST_MOUNTS_RULE, VOLUME_NAME_RE
from runner.secret_refs import parse_refs

RESTART = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}
RUNTIMES = ("runc", "vm", "nova")
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
CONTAINER_KEYS = {
    "name",
    "image",
    "command",
    "args",
    "resources",
    "ports",
    "volumeMounts",
    "env",
    "secrets",  # a Zunray extension: runner.secret_refs
    "workDir",
    "imagePullPolicy",
    "stdin",
    "tty",
}
HOST_PATH_KEYS = frozenset({"hostPath", "host_path"})
DEFAULT_CPU = 0.5
DEFAULT_MEMORY_MB = 256


def _need(obj: dict, key: str, where: str, kind: type) -> Any:
    if key not in obj:
        raise InvalidSpec(f"'{key}' is a required property", field=f"{where}{key}")
    if not isinstance(obj[key], kind):
        raise InvalidSpec(
            f"{where}{key} must be {'an object' if kind is dict else 'a list'}",
            field=f"{where}{key}",
        )
    return obj[key]


def _object(value: Any, field: str) -> dict:
    """An optional object field: {} when absent, 400 when it is something else."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidSpec(f"{field} must be an object", field=field)
    return value


def _list(value: Any, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidSpec(f"{field} must be a list", field=field)
    return value


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > NAME_CHARS or not NAME_RE.match(value):
        raise InvalidSpec(f"{field} {str(value)[:64]!r} is not a valid name", field=field)
    return value


def _strings(
    value: Any, field: str, *, count: int, key_chars: int, value_chars: int
) -> dict[str, str]:
    """labels, annotations and env as objects of strings (Kubernetes-style env lists are turned into one)."""
    if isinstance(value, list):  # Kubernetes style [{name, value}]
        if not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in value):
            raise InvalidSpec(f"{field} entries need a name", field=field)
        value = {e["name"]: e.get("value", "") for e in value}
    value = _object(value, field)
    if len(value) > count:
        raise InvalidSpec(f"{field}: at most {count} entries", field=field)
    out = {}
    for k, v in value.items():
        capped(k, key_chars, field)
        out[k] = capped(v if isinstance(v, str) else str(v), value_chars, f"{field}.{k[:32]}")
    return out


def _container(item: Any, where: str, volumes: set[str], index: int) -> ContainerSpec:
    if not isinstance(item, dict):
        raise InvalidSpec(f"{where} must be an object", field=where)
    unknown = sorted(set(item) - CONTAINER_KEYS)
    if unknown:
        raise InvalidSpec(
            f"Additional properties are not allowed ({unknown[0]!r} was unexpected)",
            field=f"{where}.{unknown[0]}",
        )
    name = _name(item.get("name") or f"container-{index}", f"{where}.name")
    requests = _object(
        _object(item.get("resources"), f"{where}.resources").get("requests"),
        f"{where}.resources.requests",
    )
    env = _strings(
        item.get("env"),
        f"{where}.env",
        count=ENV_VARS,
        key_chars=ENV_KEY_CHARS,
        value_chars=ENV_VALUE_CHARS,
    )
    workdir = item.get("workDir")
    if workdir is not None and not isinstance(workdir, str):
        raise InvalidSpec(f"{where}.workDir must be a string", field=f"{where}.workDir")
    mounts = []
    for j, m in enumerate(_list(item.get("volumeMounts"), f"{where}.volumeMounts")):
        if (
            not isinstance(m, dict)
            or not isinstance(m.get("name"), str)
            or not isinstance(m.get("mountPath"), str)
        ):
            raise InvalidSpec(
                f"{where}.volumeMounts[{j}] needs a name and a mountPath",
                field=f"{where}.volumeMounts[{j}]",
            )
        capped(m["mountPath"], PATH_CHARS, f"{where}.volumeMounts[{j}].mountPath")
        if m.get("name") not in volumes:
            raise InvalidSpec(
                f"{where}.volumeMounts[{j}] names an unknown volume {m.get('name')!r}",
                field=f"{where}.volumeMounts[{j}].name",
            )
        if not str(m.get("mountPath", "")).startswith("/"):
            raise InvalidSpec(
                f"{where}.volumeMounts[{j}].mountPath must be an absolute path",
                field=f"{where}.volumeMounts[{j}].mountPath",
            )
        mounts.append(
            VolumeMount(volume=m["name"], path=m["mountPath"], read_only=bool(m.get("readOnly")))
        )
    pull = str(item.get("imagePullPolicy") or "ifnotpresent").lower()
    if pull not in ("ifnotpresent", "always", "never"):
        raise InvalidSpec(
            f"{where}.imagePullPolicy must be IfNotPresent, Always or Never",
            field=f"{where}.imagePullPolicy",
        )
    return ContainerSpec(
        image=check_image_ref(
            item.get("image"), f"{where}.image"
        ),  # last: the fuzzer's bodies carry no valid image
        command=tuple(
            command_list(item.get("command"), f"{where}.command")
            + command_list(item.get("args"), f"{where}.args")
        ),
        env=env,
        workdir=capped(workdir, PATH_CHARS, f"{where}.workDir") if workdir else None,
        resources=Resources(
            cpu=cpu(requests["cpu"]) if "cpu" in requests else DEFAULT_CPU,
            memory_mb=memory_mb(requests["memory"], f"{where}.resources.requests.memory")
            if "memory" in requests
            else DEFAULT_MEMORY_MB,
        ),
        name=name,
        pull_policy=PullPolicy(pull),
        mounts=tuple(mounts),
        secrets=parse_refs(item.get("secrets"), env=env, field=f"{where}.secrets"),
    )


def _zone(value: Any) -> str | None:
    """The template's ``availabilityZone`` (where Zun reads it: beside ``kind``), or None."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidSpec("availabilityZone must be a string", field="availabilityZone")
    return capped(value, SHORT_CHARS, "availabilityZone")


def capsule_from_body(
    body: Any, *, caller, may_mount_host: bool = False, network: str | None = None
) -> Capsule:  # noqa: ANN001
    if not isinstance(body, dict) or "template" not in body:
        raise InvalidSpec("'template' is a required property", field="template")
    if set(body) - {"template"}:
        raise InvalidSpec(
            "Additional properties are not allowed", field=sorted(set(body) - {"template"})[0]
        )
    template = body["template"]
    if isinstance(template, str):
        template = parse_json(template.encode())
    if not isinstance(template, dict):
        raise InvalidSpec("template must be an object", field="template")
    kind = template.get("kind")
    if kind not in ("capsule", "Capsule"):
        raise InvalidSpec(
            f"Invalid input for field 'kind'. Value: {str(kind)[:64]!r}. It is not one of ['capsule', 'Capsule']",
            field="kind",
        )
    metadata = _need(template, "metadata", "", dict)
    spec = _need(template, "spec", "", dict)
    containers = _need(spec, "containers", "spec.", list)
    if not containers:
        raise InvalidSpec("spec.containers needs at least one container", field="spec.containers")
    for key in ("containers", "initContainers", "volumes"):
        if len(_list(spec.get(key), f"spec.{key}")) > CAPSULE_CONTAINERS:
            raise InvalidSpec(f"spec.{key}: at most {CAPSULE_CONTAINERS}", field=f"spec.{key}")
    volumes: set[str] = set()
    for i, v in enumerate(_list(spec.get("volumes"), "spec.volumes")):
        if (
            not isinstance(v, dict)
            or not isinstance(v.get("name"), str)
            or not VOLUME_NAME_RE.fullmatch(v["name"])
        ):
            raise InvalidSpec(
                f"spec.volumes[{i}] needs a name: letters, digits, '_', '.', '-' (at most 63)",
                field=f"spec.volumes[{i}].name",
            )
        if HOST_PATH_KEYS & set(v):
            if not may_mount_host:
                raise Forbidden(
                    f"Policy doesn't allow {HOST_MOUNTS_RULE} to be performed: capsule volumes are the capsule's own"
                )
            raise InvalidSpec(
                f"spec.volumes[{i}]: capsule volumes are the capsule's own named volumes; host paths are not offered",
                field=f"spec.volumes[{i}]",
            )
        volumes.add(v["name"])
    apps = tuple(
        _container(c, f"spec.containers[{i}]", volumes, i) for i, c in enumerate(containers)
    )
    inits = tuple(
        _container(c, f"spec.initContainers[{i}]", volumes, len(apps) + i)
        for i, c in enumerate(_list(spec.get("initContainers"), "spec.initContainers"))
    )
    names = [c.name for c in (*apps, *inits)]
    if len(set(names)) != len(names):
        raise InvalidSpec("container names must be unique in a capsule", field="spec.containers")
    policy = spec.get("restartPolicy") or template.get("restartPolicy") or "Always"
    if not isinstance(policy, str) or policy not in RESTART:
        raise InvalidSpec(
            f"restartPolicy must be one of {', '.join(RESTART)}", field="spec.restartPolicy"
        )
    runtime = spec.get("runtime", "runc")
    if not isinstance(runtime, str) or runtime not in RUNTIMES:
        raise InvalidSpec(
            f"spec.runtime must be one of {', '.join(RUNTIMES)}", field="spec.runtime"
        )
    if runtime != "runc" and any(c.secrets for c in (*apps, *inits)):
        raise InvalidSpec(f"secrets: runtime {runtime} takes no secrets yet", field="spec.runtime")
    name = _name(metadata.get("name") or f"capsule-{uuid.uuid4().hex[:8]}", "metadata.name")
    members = {
        c.name: {"uuid": str(uuid.uuid4()), "status": "Creating", "init": False} for c in apps
    }
    members.update(
        {c.name: {"uuid": str(uuid.uuid4()), "status": "Creating", "init": True} for c in inits}
    )
    return Capsule(
        uuid=str(uuid.uuid4()),
        name=name,
        project_id=caller.project_id,
        user_id=caller.user_id,
        capsule=CapsuleSpec(
            containers=apps,
            init_containers=inits,
            volumes=tuple(sorted(volumes)),
            network=network if runtime == "runc" else None,
            runtime=runtime,
            availability_zone=_zone(template.get("availabilityZone")),
        ),
        restart_policy=RESTART[policy],
        labels=_strings(
            metadata.get("labels"),
            "metadata.labels",
            count=LABELS,
            key_chars=LABEL_CHARS,
            value_chars=LABEL_CHARS,
        ),
        annotations=_strings(
            metadata.get("annotations"),
            "metadata.annotations",
            count=LABELS,
            key_chars=LABEL_CHARS,
            value_chars=LABEL_CHARS,
        ),
        members=members,
    )
