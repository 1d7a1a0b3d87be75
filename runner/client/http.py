"""The Python SDK over HTTP: jobs, functions and Zun containers.

    from runner import Client
    with Client("http://127.0.0.1:9517", token=None, project_id="demo") as zr:
        job = zr.submit("busybox:latest", ["echo", "hi"])
        print(zr.wait(job["id"])["status"], zr.logs(job["id"]))
        print(zr.invoke("echo", {"n": 1}))

``token`` is a Keystone token (``X-Auth-Token``); without one, ``project_id``
names the project (the gateway's ``noauth`` mode). Errors come back as the
``runner.errors`` class their HTTP status maps to, with the server's message;
a function's own error is a ``FunctionFailed`` whose ``error`` holds its type,
message, traceback and stderr tail. ``runner.RayClient`` has the same job and
function methods over a Ray connection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from runner import errors as e
from runner.log_tail import LOG_OFFSET_HEADER
from runner.models import JobStatus

ZUN_VERSION = "container 1.40"
FOLLOW_RESUMES = 5  # dropped connections in a row a log follower resumes after

#: HTTP status -> the error class the server raised (the inverse of gateway/errors.py)
_ERRORS: dict[int, type[e.ZunrayError]] = {
    400: e.InvalidSpec, 401: e.Unauthorized, 403: e.Forbidden, 404: e.NotFound, 406: e.InvalidSpec, 409: e.Conflict, 413: e.TooLarge,
    429: e.Throttled, 502: e.FunctionFailed, 503: e.Unavailable, 504: e.FunctionTimedOut,
}
PAGE_SIZE = 1000  #: items asked per page when a list call follows ``next`` (the server's maximum)


def raise_for_error(resp: httpx.Response) -> None:
    """Zunray's error body as the ``runner.errors`` class its status maps to (the one decoder: SDK and CLI)."""
    if resp.status_code < 400:
        return
    try:
        err = resp.json()["errors"][0]
        message, function_error = err.get("detail") or err.get("title") or resp.text, err.get("function_error")
    except (ValueError, KeyError, IndexError, TypeError):
        message, function_error = resp.text or resp.reason_phrase, None
    cls = _ERRORS.get(resp.status_code, e.ZunrayError)
    if cls is e.FunctionFailed:
        raise e.FunctionFailed(message, error=function_error)
    if cls in (e.Throttled, e.Unavailable) and resp.headers.get("Retry-After", "").isdigit():
        raise cls(message, retry_after_s=float(resp.headers["Retry-After"]))
    raise cls(message)


def follow_logs(http: httpx.Client, job_id: str, *, offset: int = 0, resumes: int = FOLLOW_RESUMES) -> Iterator[bytes]:
    """A job's output as it comes, from byte ``offset`` of all it printed, until the job ends.

    A dropped connection is resumed where it broke off (the gateway's ``Zunray-Log-Offset``
    plus the bytes received), up to ``resumes`` times in a row.
    """
    failures = 0
    while True:
        try:
            params = {"follow": "true", "offset": offset}
            with http.stream("GET", f"/v1/jobs/{job_id}/logs", params=params, timeout=httpx.Timeout(None, connect=10.0)) as resp:
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


class Client:
    """Zunray over HTTP (httpx)."""

    def __init__(self, url: str, *, token: str | None = None, project_id: str | None = None, timeout_s: float = 120.0) -> None:
        headers = {}
        if token:
            headers["X-Auth-Token"] = token
        if project_id:
            headers["X-Project-Id"] = project_id
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        resp = self.http.request(method, path, **kwargs)
        raise_for_error(resp)
        return resp

    # -- jobs -------------------------------------------------------------
    def submit(self, image: str, command: list[str] | tuple[str, ...] = (), *, idempotency_key: str | None = None, **fields: Any) -> dict:
        """Submit a job (fields as ``POST /v1/jobs`` takes them); returns it, Queued."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._call("POST", "/v1/jobs", json={"image": image, "command": list(command), **fields}, headers=headers).json()

    def job(self, job_id: str) -> dict:
        return self._call("GET", f"/v1/jobs/{job_id}").json()

    def _list(self, path: str, key: str, *, limit: int | None = None, **params: Any) -> list[dict]:
        """Every item of a paged list (following ``next`` to the end), or the first ``limit``."""
        items: list[dict] = []
        url: str | None = path
        query: dict[str, Any] | None = {**params, "limit": min(limit or PAGE_SIZE, PAGE_SIZE)}
        while url and (limit is None or len(items) < limit):
            page = self._call("GET", url, params=query).json()
            items += page[key]
            url, query = page.get("next"), None  # ``next`` carries the query on
        return items if limit is None else items[:limit]

    def jobs(self, *, status: list[str] | None = None, limit: int | None = None) -> list[dict]:
        """The project's jobs, newest first: all of them, or the newest ``limit``."""
        return self._list("/v1/jobs", "jobs", limit=limit, status=status or [])

    def wait(self, job_id: str, *, timeout_s: float | None = None) -> dict:
        """Until the job ends (long-polls); raises TimeoutError past ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            left = 30.0 if deadline is None else min(30.0, deadline - time.monotonic())
            job = self._call("GET", f"/v1/jobs/{job_id}", params={"wait_s": max(left, 0)}).json()
            if JobStatus(job["status"]).is_terminal():
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']}")

    def logs(self, job_id: str) -> bytes:
        return self._call("GET", f"/v1/jobs/{job_id}/logs").content

    def follow_logs(self, job_id: str, *, offset: int = 0) -> Iterator[bytes]:
        """The job's output as it comes (from byte ``offset``), until the job ends; resumes a dropped connection."""
        return follow_logs(self.http, job_id, offset=offset)

    def cancel(self, job_id: str) -> dict:
        return self._call("POST", f"/v1/jobs/{job_id}/cancel").json()

    # -- functions --------------------------------------------------------
    def create_function(self, name: str, image: str, **fields: Any) -> dict:
        return self._call("POST", "/v1/functions", json={"name": name, "image": image, **fields}).json()

    def update_function(self, name: str, **fields: Any) -> dict:
        return self._call("PATCH", f"/v1/functions/{name}", json=fields).json()

    def function(self, name: str) -> dict:
        return self._call("GET", f"/v1/functions/{name}").json()

    def functions(self) -> list[dict]:
        """The project's functions, by name (every page)."""
        return self._list("/v1/functions", "functions")

    def delete_function(self, name: str) -> None:
        self._call("DELETE", f"/v1/functions/{name}")

    def invoke(self, name: str, payload: Any = None, *, raw: bytes | None = None) -> Any:
        """Call a function and return its result (JSON value, or bytes)."""
        content = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        resp = self._call("POST", f"/v1/functions/{name}/invoke", content=content, headers={"Content-Type": "application/json"})
        return decode_result(resp.content, resp.headers.get("content-type", ""))

    def invoke_async(self, name: str, payload: Any = None) -> str:
        """Queue a call; returns the invocation id (see ``invocation``)."""
        content = b"" if payload is None else json.dumps(payload).encode()
        return self._call("POST", f"/v1/functions/{name}/invoke", params={"async": "true"}, content=content).json()["id"]

    def invocation(self, inv_id: str) -> dict:
        return self._call("GET", f"/v1/invocations/{inv_id}").json()

    # -- schedules --------------------------------------------------------
    def schedules(self) -> list[dict]:
        """The project's schedules, by name (every page)."""
        return self._list("/v1/schedules", "schedules")

    # -- Zun containers ---------------------------------------------------
    def _zun(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._call(method, f"/v1/containers{path}", headers={"OpenStack-API-Version": ZUN_VERSION}, **kwargs)

    def create_container(self, image: str, command: list[str] | None = None, *, name: str | None = None, run: bool = True, **fields: Any) -> dict:
        """A Zun container (fields as Zun's create takes them: cpu, memory, environment, ...)."""
        body = {"image": image, **({"command": command} if command else {}), **({"name": name} if name else {}), **fields}
        return self._zun("POST", "?run=true" if run else "", json=body).json()

    def container(self, ident: str) -> dict:
        return self._zun("GET", f"/{ident}").json()

    def containers(self) -> list[dict]:
        return self._zun("GET", "").json()["containers"]

    def container_action(self, ident: str, action: str) -> None:
        """start, stop, reboot, pause, unpause or kill."""
        self._zun("POST", f"/{ident}/{action}")

    def container_logs(self, ident: str) -> str:
        return self._zun("GET", f"/{ident}/logs").text

    def delete_container(self, ident: str, *, force: bool = False, stop: bool = False) -> None:
        self._zun("DELETE", f"/{ident}", params={"force": str(force), "stop": str(stop)})
