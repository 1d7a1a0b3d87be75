"""Reading Zunray's HTTP answers, shared by the SDK (``http.py``) and the CLI: an error body as
the ``runner.errors`` class its status maps to, a job's followed logs (resumed across dropped
connections), a function's result."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from runner import errors as e
from runner.log_tail import LOG_OFFSET_HEADER

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
