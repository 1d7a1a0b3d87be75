"""Zun's capsule template (``kind``, ``metadata``, ``spec``) to a ``Capsule``.

Each error names the field at fault (400). Volumes are local named volumes
(Cinder is not here); a ``cinder`` section is accepted and its size ignored.
Zunray adds ``spec.runtime``: ``runc`` (the default), ``vm`` (the whole
capsule in one QEMU virtual machine) or ``nova`` (on a Nova server's engine),
both without a network; access rule ``capsule:create:runtime``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from gateway.schemas import IMAGE_RE
from gateway.zun.views import command_list, cpu, memory_mb
from runner.containers import Capsule
from runner.errors import Forbidden, InvalidSpec
from runner.models import CapsuleSpec, ContainerSpec, PullPolicy, Resources, VolumeMount
from runner.mounts import HOST_MOUNTS_RULE, VOLUME_NAME_RE

RESTART = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}
RUNTIMES = ("runc", "vm", "nova")
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
CONTAINER_KEYS = {"name", "image", "command", "args", "resources", "ports", "volumeMounts", "env", "workDir", "imagePullPolicy", "stdin", "tty"}
HOST_PATH_KEYS = frozenset({"hostPath", "host_path"})
DEFAULT_CPU = 0.5
DEFAULT_MEMORY_MB = 256


def _volumes(spec: dict) -> list:
    volumes = spec.get("volumes") or []
    if not isinstance(volumes, list):
        raise InvalidSpec("spec.volumes must be a list", field="spec.volumes")
    return volumes


def _need(obj: dict, key: str, where: str, kind: type) -> Any:
    if key not in obj:
        raise InvalidSpec(f"'{key}' is a required property", field=f"{where}{key}")
    if not isinstance(obj[key], kind):
        raise InvalidSpec(f"{where}{key} must be {'an object' if kind is dict else 'a list'}", field=f"{where}{key}")
    return obj[key]


def _container(item: Any, where: str, volumes: set[str], index: int) -> ContainerSpec:
    if not isinstance(item, dict):
        raise InvalidSpec(f"{where} must be an object", field=where)
    unknown = sorted(set(item) - CONTAINER_KEYS)
    if unknown:
        raise InvalidSpec(f"Additional properties are not allowed ({unknown[0]!r} was unexpected)", field=f"{where}.{unknown[0]}")
    image = item.get("image")
    if not isinstance(image, str) or not IMAGE_RE.match(image):
        raise InvalidSpec(f"{where}.image must be a valid image reference", field=f"{where}.image")
    name = item.get("name") or f"container-{index}"
    if not NAME_RE.match(name):
        raise InvalidSpec(f"{where}.name {name!r} is not a valid name", field=f"{where}.name")
    requests = (item.get("resources") or {}).get("requests") or {}
    env = item.get("env") or {}
    if isinstance(env, list):  # Kubernetes style [{name, value}]
        env = {e["name"]: str(e.get("value", "")) for e in env}
    mounts = []
    for j, m in enumerate(item.get("volumeMounts") or []):
        if m.get("name") not in volumes:
            raise InvalidSpec(f"{where}.volumeMounts[{j}] names an unknown volume {m.get('name')!r}", field=f"{where}.volumeMounts[{j}].name")
        if not str(m.get("mountPath", "")).startswith("/"):
            raise InvalidSpec(f"{where}.volumeMounts[{j}].mountPath must be an absolute path", field=f"{where}.volumeMounts[{j}].mountPath")
        mounts.append(VolumeMount(volume=m["name"], path=m["mountPath"], read_only=bool(m.get("readOnly"))))
    pull = str(item.get("imagePullPolicy") or "ifnotpresent").lower()
    if pull not in ("ifnotpresent", "always", "never"):
        raise InvalidSpec(f"{where}.imagePullPolicy must be IfNotPresent, Always or Never", field=f"{where}.imagePullPolicy")
    return ContainerSpec(
        image=image,
        command=tuple(command_list(item.get("command"), f"{where}.command") + command_list(item.get("args"), f"{where}.args")),
        env={str(k): str(v) for k, v in env.items()},
        workdir=item.get("workDir"),
        resources=Resources(
            cpu=cpu(requests["cpu"]) if "cpu" in requests else DEFAULT_CPU,
            memory_mb=memory_mb(requests["memory"], f"{where}.resources.requests.memory") if "memory" in requests else DEFAULT_MEMORY_MB,
        ),
        name=name,
        pull_policy=PullPolicy(pull),
        mounts=tuple(mounts),
    )


def capsule_from_body(body: Any, *, caller, may_mount_host: bool = False, network: str | None = None) -> Capsule:  # noqa: ANN001
    if not isinstance(body, dict) or "template" not in body:
        raise InvalidSpec("'template' is a required property", field="template")
    if set(body) - {"template"}:
        raise InvalidSpec("Additional properties are not allowed", field=sorted(set(body) - {"template"})[0])
    template = body["template"]
    if isinstance(template, str):
        try:
            template = json.loads(template)
        except ValueError:
            raise InvalidSpec("template is not valid JSON", field="template") from None
    if not isinstance(template, dict):
        raise InvalidSpec("template must be an object", field="template")
    kind = template.get("kind")
    if kind not in ("capsule", "Capsule"):
        raise InvalidSpec(f"Invalid input for field 'kind'. Value: {kind!r}. It is not one of ['capsule', 'Capsule']", field="kind")
    metadata = _need(template, "metadata", "", dict)
    spec = _need(template, "spec", "", dict)
    containers = _need(spec, "containers", "spec.", list)
    if not containers:
        raise InvalidSpec("spec.containers needs at least one container", field="spec.containers")
    volumes: set[str] = set()
    for i, v in enumerate(_volumes(spec)):
        if not isinstance(v, dict) or not isinstance(v.get("name"), str) or not VOLUME_NAME_RE.fullmatch(v["name"]):
            raise InvalidSpec(f"spec.volumes[{i}] needs a name: letters, digits, '_', '.', '-' (at most 63)", field=f"spec.volumes[{i}].name")
        if HOST_PATH_KEYS & set(v):
            if not may_mount_host:
                raise Forbidden(f"Policy doesn't allow {HOST_MOUNTS_RULE} to be performed: capsule volumes are the capsule's own")
            raise InvalidSpec(f"spec.volumes[{i}]: capsule volumes are the capsule's own named volumes; host paths are not offered", field=f"spec.volumes[{i}]")
        volumes.add(v["name"])
    apps = tuple(_container(c, f"spec.containers[{i}]", volumes, i) for i, c in enumerate(containers))
    inits = tuple(_container(c, f"spec.initContainers[{i}]", volumes, len(apps) + i) for i, c in enumerate(spec.get("initContainers") or []))
    names = [c.name for c in (*apps, *inits)]
    if len(set(names)) != len(names):
        raise InvalidSpec("container names must be unique in a capsule", field="spec.containers")
    policy = spec.get("restartPolicy") or template.get("restartPolicy") or "Always"
    if policy not in RESTART:
        raise InvalidSpec(f"restartPolicy must be one of {', '.join(RESTART)}", field="spec.restartPolicy")
    runtime = spec.get("runtime", "runc")
    if runtime not in RUNTIMES:
        raise InvalidSpec(f"spec.runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}", field="spec.runtime")
    name = metadata.get("name") or f"capsule-{uuid.uuid4().hex[:8]}"
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidSpec(f"metadata.name {name!r} is not a valid name", field="metadata.name")
    members = {c.name: {"uuid": str(uuid.uuid4()), "status": "Creating", "init": False} for c in apps}
    members.update({c.name: {"uuid": str(uuid.uuid4()), "status": "Creating", "init": True} for c in inits})
    return Capsule(
        uuid=str(uuid.uuid4()),
        name=name,
        project_id=caller.project_id,
        user_id=caller.user_id,
        capsule=CapsuleSpec(containers=apps, init_containers=inits, volumes=tuple(sorted(volumes)), network=network if runtime == "runc" else None, runtime=runtime),
        restart_policy=RESTART[policy],
        labels={str(k): str(v) for k, v in (metadata.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()},
        members=members,
    )
