"""Reading Zunray's HTTP answers, shared by the SDK (``http.py`` and its managers) and the CLI:
one call that turns an error body into the ``runner.errors`` class its status maps to, a list
read through every page, a job's followed logs (resumed across dropped connections), a
function's result."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from runner import errors as e
from runner.log_tail import LOG_OFFSET_HEADER

PAGE_SIZE = 1000  # items asked per page when a list call follows ``next`` (the server's maximum)
FOLLOW_RESUMES = 5  # dropped connections in a row a log follower resumes after

#: HTTP status -> the error class the server raised (the inverse of gateway/errors.py)
_ERRORS: dict[int, type[e.ZunrayError]] = {
    400: e.InvalidSpec,
    401: e.Unauthorized,
    403: e.Forbidden,
    404: e.NotFound,
    406: e.InvalidSpec,
    409: e.Conflict,
    413: e.TooLarge,
    429: e.Throttled,
    502: e.FunctionFailed,
    503: e.Unavailable,
    504: e.FunctionTimedOut,
}


def raise_for_error(resp: httpx.Response) -> None:
    """Zunray's error body as the ``runner.errors`` class its status maps to (the one decoder: SDK and CLI)."""
    if resp.status_code < 400:
        return
    try:
        err = resp.json()["errors"][0]
        message, function_error = (
            err.get("detail") or err.get("title") or resp.text,
            err.get("function_error"),
        )
    except (ValueError, KeyError, IndexError, TypeError):
        message, function_error = resp.text or resp.reason_phrase, None
    cls = _ERRORS.get(resp.status_code, e.ZunrayError)
    if cls is e.FunctionFailed:
        raise e.FunctionFailed(message, error=function_error)
    if cls in (e.Throttled, e.Unavailable) and resp.headers.get("Retry-After", "").isdigit():
        raise cls(message, retry_after_s=float(resp.headers["Retry-After"]))
    raise cls(message)


def call(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request on the SDK's session; an error answer raises (``raise_for_error``)."""
    resp = http.request(method, path, **kwargs)
    raise_for_error(resp)
    return resp


def list_all(
    http: httpx.Client,
    path: str,
    key: str,
    *,
    limit: int | None = None,
    marker: str | None = None,
    **params: Any,
) -> list[dict]:
    """Every item of a paged list (following ``next`` to the end), or the first ``limit``; after ``marker``."""
    items: list[dict] = []
    url: str | None = path
    query: dict[str, Any] | None = {**params, "limit": min(limit or PAGE_SIZE, PAGE_SIZE)}
    if marker:
        query["marker"] = marker
    while url and (limit is None or len(items) < limit):
        page = call(http, "GET", url, params=query).json()
        items += page[key]
        url, query = page.get("next"), None  # ``next`` carries the query on
    return items if limit is None else items[:limit]


def follow_logs(
    http: httpx.Client, job_id: str, *, offset: int = 0, resumes: int = FOLLOW_RESUMES
) -> Iterator[bytes]:
    """A job's output as it comes, from byte ``offset`` of all it printed, until the job ends.

    A dropped connection is resumed where it broke off (the gateway's ``Zunray-Log-Offset``
    plus the bytes received), up to ``resumes`` times in a row.
    """
    failures = 0
    while True:
        try:
            params = {"follow": "true", "offset": offset}
            with http.stream(
                "GET",
                f"/v1/jobs/{job_id}/logs",
                params=params,
                timeout=httpx.Timeout(None, connect=10.0),
            ) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise_for_error(resp)
                offset = int(resp.headers.get(LOG_OFFSET_HEADER, offset))
                for chunk in resp.iter_bytes():
                    offset += len(chunk)
                    failures = 0
                    yield chunk
            return
        except httpx.TransportError:
            failures += 1
            if failures > resumes:
                raise
            time.sleep(min(0.5 * 2**failures, 5.0))


def decode_result(body: bytes, media_type: str) -> Any:
    """A function's answer: the JSON value, or the raw bytes."""
    return json.loads(body) if media_type.startswith("application/json") else body
