"""Length caps on what a request carries, in one place (README "Limits on input" lists them).

Every string a client sends is checked against a cap before anything parses it (so no
parser's cost grows past a known size) and before it is stored. Bodies as a whole are
capped by the ``max_request_bytes`` setting; the job and function schemas, the Zun
handlers and the query parameters all take their caps from here.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import Request

from runner.errors import InvalidSpec

NAME_CHARS = 255  # container, capsule, job, schedule and registry names
FUNCTION_NAME_CHARS = 63
IMAGE_REF_CHARS = 512  # Docker allows 255 for the name, plus a tag (128) and a digest (71)
ENV_VARS = 1024
ENV_KEY_CHARS = 255
ENV_VALUE_CHARS = 32 * 1024
LABELS = 64  # Zun labels; job labels stay at 32 of 64 characters
LABEL_CHARS = 255
COMMAND_ARGS = 1024
COMMAND_ARG_CHARS = 32 * 1024
COMMAND_LINE_CHARS = 64 * 1024  # a Zun command given as one string, before it is split
PATH_CHARS = 4096  # workdir, archive paths, mount destinations
HOSTNAME_CHARS = 63
MEMORY_CHARS = 32  # a Zun memory value such as "512M"
SHORT_CHARS = 255  # any other single-word string: repository, tag, signal, ps_args, domain, time zone, cron
SECRET_CHARS = 4096  # registry passwords
CODE_CHARS = 256 * 1024  # inline function code
TEXT_CHARS = 4096  # each string inside free-form Zun fields (hints, nets, healthcheck, security groups, ...)
CAPSULE_CONTAINERS = 64  # containers plus init containers of one capsule, and its volumes
JSON_ITEMS = 1024  # entries of a free-form Zun field, counted over all its nesting
#: a body parsed off the event loop past this size (json.loads of megabytes takes tens of ms)
INLINE_PARSE_BYTES = 64 * 1024


def capped(value: str, cap: int, field: str) -> str:
    """``value`` unless it is longer than ``cap`` characters (400 naming the field)."""
    if len(value) > cap:
        raise InvalidSpec(f"{field} is {len(value)} characters long, over the limit of {cap}", field=field)
    return value


def check_free_form(value: Any, field: str) -> Any:
    """A JSON value stored as given: at most JSON_ITEMS entries, each string at most TEXT_CHARS."""
    todo, seen = [(value, field)], 0
    while todo:  # a loop, not recursion: the nesting depth is the client's choice
        item, where = todo.pop()
        seen += 1
        if seen > JSON_ITEMS:
            raise InvalidSpec(f"{field} has more than {JSON_ITEMS} entries", field=field)
        if isinstance(item, str):
            capped(item, TEXT_CHARS, where)
        elif isinstance(item, dict):
            for k, v in item.items():
                capped(k, TEXT_CHARS, f"{where}.{k[:32]}")
                todo.append((v, f"{where}.{k[:32]}"))
        elif isinstance(item, list):
            todo.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Python's json takes NaN and Infinity; no field wants them


def parse_json(raw: bytes, *, empty: Any = None) -> Any:
    """The body as JSON; 400 (not 500) for an empty, malformed or absurdly nested one."""
    if not raw.strip():
        if empty is not None:
            return empty
        raise InvalidSpec("the request needs a JSON body")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise InvalidSpec("the body is not valid JSON") from None


async def json_body(request: Request, *, empty: Any = None) -> Any:
    """``parse_json`` of the request body, off the event loop when the body is large."""
    raw = await request.body()
    if len(raw) > INLINE_PARSE_BYTES:
        return await asyncio.to_thread(parse_json, raw, empty=empty)
    return parse_json(raw, empty=empty)
