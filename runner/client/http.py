"""The Python SDK over HTTP: jobs, functions, schedules, usage and Zun containers.

    from runner import Client
    with Client("http://127.0.0.1:9517", project_id="demo") as zr:
        job = zr.submit("busybox:latest", ["echo", "hi"])
        print(zr.wait(job.id).status, zr.logs(job.id))      # JobStatus.SUCCEEDED b'hi\n'
        print(zr.invoke("echo", {"n": 1}))

How it authenticates, as python-zunclient does: a keystoneauth1 ``session`` (or an
``auth`` plugin, wrapped in a session) hands out tokens and renews them, and the URL
comes from the catalog unless given; a plain Keystone ``token`` is sent as is; with
neither, ``project_id`` names the project (the gateway's ``noauth`` mode).

Results are the typed objects of ``runner/client/resources.py`` (``Job``,
``Function``, ``Schedule``, ...; ``.raw`` is the JSON). Errors come back as the
``runner.errors`` class their HTTP status maps to, with the server's message; a
function's own error is a ``FunctionFailed`` whose ``error`` holds its type,
message, traceback and stderr tail. ``runner.RayClient`` has the same job and
function methods over a Ray connection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from runner.client import keystone
from runner.client.resources import (
    Container,
    Function,
    Invocation,
    Job,
    Placement,
    Schedule,
    ScheduleRun,
    UsageRecord,
)
from runner.client.responses import decode_result, follow_logs, raise_for_error

ZUN_VERSION = "container 1.40"
PAGE_SIZE = 1000  #: items asked per page when a list call follows ``next`` (the server's maximum)


class Client:
    """Zunray over HTTP (httpx)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        session: Any = None,
        auth: Any = None,
        token: str | None = None,
        project_id: str | None = None,
        interface: str = "public",
        region_name: str | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        """``url``: the gateway (with a session: the catalog's ``container`` endpoint unless given).
        ``session``: a ``keystoneauth1.session.Session``; ``auth``: a keystoneauth1 plugin (a session
        is made for it); ``token``: a Keystone token sent as is; ``project_id``: noauth's project."""
        headers = {"X-Project-Id": project_id} if project_id else {}
        http_auth: httpx.Auth | None = None
        verify: Any = True
        if session is not None or auth is not None:
            session = keystone.session_of(session, auth)
            url = url or keystone.catalog_url(
                session, auth, interface=interface, region_name=region_name
            )
            http_auth, verify = keystone.SessionAuth(session, auth), keystone.tls_verify(session)
        elif token:
            headers["X-Auth-Token"] = token
        if not url:
            raise ValueError("url is needed without a keystoneauth1 session or auth plugin")
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            headers=headers,
            auth=http_auth,
            verify=verify,
            timeout=timeout_s,
        )

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

    def _list(
        self,
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
            page = self._call("GET", url, params=query).json()
            items += page[key]
            url, query = page.get("next"), None  # ``next`` carries the query on
        return items if limit is None else items[:limit]

    def health(self) -> dict:
        """``GET /healthz`` as it answered (503 too: its body says why)."""
        resp = self.http.get("/healthz", timeout=10)
        if resp.status_code not in (200, 503):
            raise_for_error(resp)
        return resp.json()

    # -- jobs -------------------------------------------------------------
    def submit(
        self,
        image: str,
        command: list[str] | tuple[str, ...] = (),
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Job:
        """Submit a job (fields as ``POST /v1/jobs`` takes them); returns it, Queued."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = {"image": image, "command": list(command), **fields}
        return Job.from_api(self._call("POST", "/v1/jobs", json=body, headers=headers).json())

    def job(self, job_id: str) -> Job:
        return Job.from_api(self._call("GET", f"/v1/jobs/{job_id}").json())

    def jobs(
        self,
        *,
        status: list[str] | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[Job]:
        """The project's jobs, newest first: all of them, or the newest ``limit``; ``marker``: after that job."""
        found = self._list(
            "/v1/jobs", "jobs", limit=limit, marker=marker, status=list(status or [])
        )
        return [Job.from_api(j) for j in found]

    def wait(self, job_id: str, *, timeout_s: float | None = None) -> Job:
        """Until the job ends (long-polls); raises TimeoutError past ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            left = 30.0 if deadline is None else min(30.0, deadline - time.monotonic())
            job = Job.from_api(
                self._call("GET", f"/v1/jobs/{job_id}", params={"wait_s": max(left, 0)}).json()
            )
            if job.is_terminal():
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.status.value}")

    def logs(self, job_id: str) -> bytes:
        return self._call("GET", f"/v1/jobs/{job_id}/logs").content

    def follow_logs(self, job_id: str, *, offset: int = 0) -> Iterator[bytes]:
        """The job's output as it comes (from byte ``offset``), until the job ends; resumes a dropped connection."""
        return follow_logs(self.http, job_id, offset=offset)

    def cancel(self, job_id: str) -> Job:
        return Job.from_api(self._call("POST", f"/v1/jobs/{job_id}/cancel").json())

    def delete_job(self, job_id: str) -> None:
        """Delete an ended job and its logs (``Conflict`` while it runs)."""
        self._call("DELETE", f"/v1/jobs/{job_id}")

    def why(self, job_id: str) -> Placement:
        """Why the job waits: placement's per-host reasons and scores for it, now."""
        return Placement.from_api(self._call("GET", f"/v1/jobs/{job_id}/why").json())

    # -- functions --------------------------------------------------------
    def create_function(self, name: str, image: str, **fields: Any) -> Function:
        body = {"name": name, "image": image, **fields}
        return Function.from_api(self._call("POST", "/v1/functions", json=body).json())

    def update_function(self, name: str, **fields: Any) -> Function:
        return Function.from_api(self._call("PATCH", f"/v1/functions/{name}", json=fields).json())

    def function(self, name: str) -> Function:
        """A function with its live ``stats``."""
        return Function.from_api(self._call("GET", f"/v1/functions/{name}").json())

    def functions(self) -> list[Function]:
        """The project's functions, by name (every page)."""
        return [Function.from_api(f) for f in self._list("/v1/functions", "functions")]

    def delete_function(self, name: str) -> None:
        self._call("DELETE", f"/v1/functions/{name}")

    def invoke(self, name: str, payload: Any = None, *, raw: bytes | None = None) -> Any:
        """Call a function and return its result (JSON value, or bytes)."""
        content = (
            raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        )
        resp = self._call(
            "POST",
            f"/v1/functions/{name}/invoke",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        return decode_result(resp.content, resp.headers.get("content-type", ""))

    def invoke_async(self, name: str, payload: Any = None) -> str:
        """Queue a call; returns the invocation id (see ``invocation``)."""
        content = b"" if payload is None else json.dumps(payload).encode()
        path = f"/v1/functions/{name}/invoke"
        headers = {"Content-Type": "application/json"}
        return self._call(
            "POST", path, params={"async": "true"}, content=content, headers=headers
        ).json()["id"]

    def invocation(self, inv_id: str) -> Invocation:
        return Invocation.from_api(self._call("GET", f"/v1/invocations/{inv_id}").json())

    # -- schedules --------------------------------------------------------
    def create_schedule(self, name: str, cron: str, job: dict, **fields: Any) -> Schedule:
        """A cron schedule creating ``job`` (the body of ``POST /v1/jobs``); ``fields``: time_zone,
        concurrency_policy, starting_deadline_s, history limits, suspend."""
        body = {"name": name, "cron": cron, "job": job, **fields}
        return Schedule.from_api(self._call("POST", "/v1/schedules", json=body).json())

    def schedule(self, ident: str) -> Schedule:
        """A schedule by id or name."""
        return Schedule.from_api(self._call("GET", f"/v1/schedules/{ident}").json())

    def schedules(self) -> list[Schedule]:
        """The project's schedules, by name (every page)."""
        return [Schedule.from_api(s) for s in self._list("/v1/schedules", "schedules")]

    def update_schedule(self, ident: str, **changes: Any) -> Schedule:
        """Change a schedule: cron, time_zone, concurrency_policy, suspend, ..."""
        return Schedule.from_api(self._call("PATCH", f"/v1/schedules/{ident}", json=changes).json())

    def delete_schedule(self, ident: str, *, purge: bool = False) -> None:
        """Delete a schedule; ``purge`` also removes its run records."""
        self._call("DELETE", f"/v1/schedules/{ident}", params={"purge": str(purge).lower()})

    def schedule_runs(self, ident: str, *, limit: int = 100) -> list[ScheduleRun]:
        """Its fire times, newest first, with what became of each."""
        runs = self._call("GET", f"/v1/schedules/{ident}/runs", params={"limit": limit}).json()[
            "runs"
        ]
        return [ScheduleRun.from_api(r) for r in runs]

    # -- usage ------------------------------------------------------------
    def usage(
        self,
        *,
        start: str | float | None = None,
        end: str | float | None = None,
        project_id: str | None = None,
        all_projects: bool = False,
    ) -> list[UsageRecord]:
        """Usage records that ended in [start, end) (ISO 8601 or epoch seconds; default: the last day)."""
        body = self.usage_export(
            "json", start=start, end=end, project_id=project_id, all_projects=all_projects
        )
        return [UsageRecord.from_api(r) for r in json.loads(body)["usage"]]

    def usage_export(
        self,
        fmt: str,
        *,
        start: str | float | None = None,
        end: str | float | None = None,
        project_id: str | None = None,
        all_projects: bool = False,
    ) -> bytes:
        """The same records as a file's bytes: ``fmt`` parquet, arrow or json."""
        params = {
            k: str(v)
            for k, v in (("start", start), ("end", end), ("project_id", project_id))
            if v is not None
        }
        if all_projects:
            params["all_projects"] = "true"
        return self._call("GET", "/v1/usage", params={**params, "format": fmt}).content

    # -- Zun containers ---------------------------------------------------
    def _zun(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._call(
            method,
            f"/v1/containers{path}",
            headers={"OpenStack-API-Version": ZUN_VERSION},
            **kwargs,
        )

    def create_container(
        self,
        image: str,
        command: list[str] | None = None,
        *,
        name: str | None = None,
        run: bool = True,
        **fields: Any,
    ) -> Container:
        """A Zun container (fields as Zun's create takes them: cpu, memory, environment, ...)."""
        body = {
            "image": image,
            **({"command": command} if command else {}),
            **({"name": name} if name else {}),
            **fields,
        }
        return Container.from_api(self._zun("POST", "?run=true" if run else "", json=body).json())

    def container(self, ident: str) -> Container:
        return Container.from_api(self._zun("GET", f"/{ident}").json())

    def containers(self) -> list[Container]:
        return [Container.from_api(c) for c in self._zun("GET", "").json()["containers"]]

    def container_action(self, ident: str, action: str) -> None:
        """start, stop, reboot, pause, unpause or kill."""
        self._zun("POST", f"/{ident}/{action}")

    def container_logs(self, ident: str) -> str:
        return self._zun("GET", f"/{ident}/logs").text

    def delete_container(self, ident: str, *, force: bool = False, stop: bool = False) -> None:
        self._zun("DELETE", f"/{ident}", params={"force": str(force), "stop": str(stop)})
