"""Applying the length caps (``runner/caps.py``) to HTTP bodies: strings, free-form JSON, parsing.

Bodies as a whole are capped by the ``max_request_bytes`` setting; a body is parsed
only once its size is known, off the event loop when it is large.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import Request

from runner.caps import JSON_ITEMS, TEXT_CHARS
from runner.errors import InvalidSpec

#: a body parsed off the event loop past this size (json.loads of megabytes takes tens of ms)
INLINE_PARSE_BYTES = 64 * 1024


def capped(value: str, cap: int, field: str) -> str:
    """``value`` unless it is longer than ``cap`` characters (400 naming the field)."""
    if len(value) > cap:
        raise InvalidSpec(
            f"{field} is {len(value)} characters long, over the limit of {cap}", field=field
        )
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
    raise ValueError(
        f"{name} is not JSON"
    )  # Python's json takes NaN and Infinity; no field wants them


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
