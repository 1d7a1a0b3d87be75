"""The Zun request bodies as JSON Schema, for /openapi.json only.

The Zun handlers validate their bodies by hand (Zun's own rules and messages,
per microversion); these schemas describe the same bodies so that users and
the fuzzer see them. They document, they do not validate: a route keeps its
hand validation and reads the raw body.
"""

from __future__ import annotations

from typing import Any

from runner.caps import (
    COMMAND_ARG_CHARS,
    COMMAND_ARGS,
    COMMAND_LINE_CHARS,
    ENV_VALUE_CHARS,
    HOSTNAME_CHARS,
    IMAGE_REF_CHARS,
    LABEL_CHARS,
    MEMORY_CHARS,
    NAME_CHARS,
    PATH_CHARS,
    SECRET_CHARS,
    SHORT_CHARS,
)
from runner.fair_share import CAPS
from runner.secret_refs import MAX_REFS, SECRET_NAME_RE

_NAME = {"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", "maxLength": NAME_CHARS}
_IMAGE = {
    "type": "string",
    "minLength": 1,
    "maxLength": IMAGE_REF_CHARS,
    "description": "a Docker image reference",
}
_COMMAND = {
    "anyOf": [
        {
            "type": "array",
            "items": {"type": "string", "maxLength": COMMAND_ARG_CHARS},
            "maxItems": COMMAND_ARGS,
        },
        {
            "type": "string",
            "maxLength": COMMAND_LINE_CHARS,
            "description": "shell-quoted; before microversion 1.20 only",
        },
        {"type": "null"},
    ]
}
_MEMORY = {
    "anyOf": [
        {"type": "integer", "minimum": 6},
        {
            "type": "string",
            "maxLength": MEMORY_CHARS,
            "description": "MB, or with a k, m or g suffix",
        },
    ]
}
_CPU = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": 1024},
        {"type": "string", "maxLength": SHORT_CHARS},
    ]
}
#: Zunray's extension of Zun's bodies: the project's secrets given to a container (runner.secret_refs)
_SECRET_REFS = {
    "type": "array",
    "maxItems": MAX_REFS,
    "items": {
        "type": "object",
        "properties": {
            "secret": {"type": "string", "pattern": SECRET_NAME_RE.pattern},
            "env": {"type": "string"},
            "file": {"type": "string", "pattern": SECRET_NAME_RE.pattern},
        },
        "required": ["secret"],
        "additionalProperties": False,
    },
    "description": "a Zunray extension: each {secret, env} or {secret, file} (in /run/secrets)",
}
_BOOL = {"anyOf": [{"type": "boolean"}, {"type": "string", "maxLength": SHORT_CHARS}]}
_STRINGS = {
    "type": "object",
    "additionalProperties": {"type": "string", "maxLength": LABEL_CHARS},
    "maxProperties": 64,
}

CONTAINER_CREATE: dict[str, Any] = {
    "type": "object",
    "required": ["image"],
    "additionalProperties": False,
    "properties": {
        "name": _NAME,
        "image": _IMAGE,
        "command": _COMMAND,
        "entrypoint": _COMMAND,
        "cpu": _CPU,
        "memory": _MEMORY,
        "disk": {"type": "integer", "minimum": 0},
        "environment": {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": ENV_VALUE_CHARS},
            "maxProperties": 1024,
        },
        "workdir": {"type": "string", "maxLength": PATH_CHARS},
        "labels": _STRINGS,
        "image_pull_policy": {
            "type": "string",
            "enum": ["ifnotpresent", "always", "never"],
            "description": "admin only",
        },
        "restart_policy": {
            "type": "object",
            "properties": {
                "Name": {
                    "type": "string",
                    "enum": ["no", "always", "on-failure", "unless-stopped"],
                },
                "MaximumRetryCount": {"type": ["integer", "string"]},
            },
            "required": ["Name"],
        },
        "interactive": _BOOL,
        "tty": _BOOL,
        "auto_remove": _BOOL,
        "auto_heal": _BOOL,
        "privileged": _BOOL,
        "image_driver": {"type": "string", "enum": ["docker", "glance"]},
        "security_groups": {"type": "array", "items": {"type": "string", "maxLength": SHORT_CHARS}},
        "hints": _STRINGS,
        "nets": {"type": "array", "items": {"type": "object"}},
        "availability_zone": {"type": "string", "maxLength": SHORT_CHARS},
        "cpu_policy": {"type": "string", "enum": ["shared", "dedicated"]},
        "runtime": {
            "type": "string",
            "enum": ["runc", "runsc", "vm", "nova"],
            "description": "admin only",
        },
        "hostname": {"type": "string", "maxLength": HOSTNAME_CHARS},
        "mounts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "source": {"type": "string"},
                    "destination": {"type": "string", "maxLength": PATH_CHARS},
                    "type": {"type": "string", "enum": ["volume", "bind"]},
                },
                "required": ["destination"],
            },
        },
        "healthcheck": {
            "type": "object",
            "properties": {
                "cmd": {"type": "string"},
                "interval": {"type": "integer"},
                "retries": {"type": "integer"},
                "timeout": {"type": "integer"},
            },
        },
        "exposed_ports": {"type": "object"},
        "registry": {
            "type": "string",
            "maxLength": SHORT_CHARS,
            "description": "a registry's name or uuid",
        },
        "secrets": _SECRET_REFS,
        "host": {
            "type": "string",
            "maxLength": SHORT_CHARS,
            "description": "admin only; from 1.39",
        },
    },
}

CONTAINER_UPDATE: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {"cpu": _CPU, "memory": _MEMORY, "name": _NAME, "auto_heal": _BOOL},
}

ARCHIVE: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": "a tar archive, base64-encoded from 1.25 (latin-1 text before)",
        }
    },
}

_ENV_ITEM = {"name": {"type": "string"}, "value": {"type": "string"}}
_VOLUME_MOUNT = {
    "name": {"type": "string"},
    "mountPath": {"type": "string", "maxLength": PATH_CHARS},
    "readOnly": {"type": "boolean"},
}
_TEMPLATE_CONTAINER = {
    "type": "object",
    "required": ["image"],
    "additionalProperties": False,
    "properties": {
        "name": _NAME,
        "image": _IMAGE,
        "command": _COMMAND,
        "args": _COMMAND,
        "workDir": {"type": "string", "maxLength": PATH_CHARS},
        "env": {
            "anyOf": [
                _STRINGS,
                {
                    "type": "array",
                    "items": {"type": "object", "properties": _ENV_ITEM, "required": ["name"]},
                },
            ]
        },
        "resources": {
            "type": "object",
            "properties": {
                "requests": {"type": "object", "properties": {"cpu": _CPU, "memory": _MEMORY}}
            },
        },
        "secrets": _SECRET_REFS,
        "volumeMounts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": _VOLUME_MOUNT,
                "required": ["name", "mountPath"],
            },
        },
        "imagePullPolicy": {"type": "string", "enum": ["IfNotPresent", "Always", "Never"]},
        "ports": {"type": "array"},
        "stdin": {"type": "boolean"},
        "tty": {"type": "boolean"},
    },
}

CAPSULE_CREATE: dict[str, Any] = {
    "type": "object",
    "required": ["template"],
    "additionalProperties": False,
    "properties": {
        "template": {
            "type": "object",
            "required": ["kind", "metadata", "spec"],
            "properties": {
                "kind": {"type": "string", "enum": ["capsule", "Capsule"]},
                "metadata": {
                    "type": "object",
                    "properties": {"name": _NAME, "labels": _STRINGS, "annotations": _STRINGS},
                },
                "spec": {
                    "type": "object",
                    "required": ["containers"],
                    "properties": {
                        "containers": {
                            "type": "array",
                            "minItems": 1,
                            "items": _TEMPLATE_CONTAINER,
                        },
                        "initContainers": {"type": "array", "items": _TEMPLATE_CONTAINER},
                        "volumes": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"name": _NAME},
                                "required": ["name"],
                            },
                        },
                        "restartPolicy": {
                            "type": "string",
                            "enum": ["Always", "OnFailure", "Never"],
                        },
                        "runtime": {
                            "type": "string",
                            "enum": ["runc", "vm", "nova"],
                            "description": "access rule capsule:create:runtime",
                        },
                    },
                },
            },
        }
    },
}

_LIMIT = {
    "anyOf": [{"type": "integer", "minimum": -1}, {"type": "string", "pattern": "^-?[0-9]{1,18}$"}],
    "description": "-1: unlimited",
}
QUOTAS: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    # Zun's four resources, then the fair-share caps (runner/fair_share.py CAPS; quota classes take Zun's four only)
    "properties": {name: _LIMIT for name in ("containers", "cpu", "memory", "disk", *CAPS)},
}
QUOTA_CLASS: dict[str, Any] = {
    **QUOTAS,
    "properties": {name: _LIMIT for name in ("containers", "cpu", "memory", "disk")},
}

REGISTRY: dict[str, Any] = {
    "type": "object",
    "required": ["registry"],
    "properties": {
        "registry": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": _NAME,
                "domain": {
                    "type": "string",
                    "pattern": "^[a-zA-Z0-9.-]+(:[0-9]+)?$",
                    "maxLength": SHORT_CHARS,
                    "description": "required on create",
                },
                "username": {"type": "string", "maxLength": SHORT_CHARS},
                "password": {"type": "string", "maxLength": SECRET_CHARS},
            },
        }
    },
}


def body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body is ``schema``."""
    return {
        "requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}
    }
