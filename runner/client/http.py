"""The Python SDK over HTTP: jobs on the Client; functions, schedules, usage and Zun
containers on its managers (``client.functions``, ``.schedules``, ``.usage``, ``.containers``,
``.secrets``).

    from runner import Client
    with Client("http://127.0.0.1:9517", project_id="demo") as zr:
        job = zr.submit("busybox:latest", ["echo", "hi"])
        print(zr.wait(job.id).status, zr.logs(job.id))      # JobStatus.SUCCEEDED b'hi\n'
        print(zr.functions.invoke("echo", {"n": 1}))

The managers, as openstacksdk's ``conn.compute``, are small objects in modules of their own
(``functions.py``, ``schedules.py``, ``usage.py``, ``containers.py``, ``secrets.py``) that share the Client's one
httpx session and its one error decoder (``responses.call``).

How it authenticates, as python-zunclient does: a keystoneauth1 ``session`` (or an
``auth`` plugin, wrapped in a session) hands out tokens and renews them, and the URL
comes from the catalog unless given; a plain Keystone ``token`` is sent as is; with
neither, ``project_id`` names the project (the gateway's ``noauth`` mode).

Results are the typed objects of ``runner/client/resources.py`` (``Job``,
``Function``, ``Schedule``, ...; ``.raw`` is the JSON). Errors come back as the
``runner.errors`` class their HTTP status maps to, with the server's message; a
function's own error is a ``FunctionFailed`` whose ``error`` holds its type,
message, traceback and stderr tail. ``runner.RayClient`` has the same job methods and
``functions`` calls it implements over a Ray connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

from runner.client import keystone
from runner.client.containers import Containers
from runner.client.functions import Functions
from runner.client.resources import Job, Placement
from runner.client.responses import call, follow_logs, list_all, raise_for_error
from runner.client.schedules import Schedules
from runner.client.secrets import Secrets
from runner.client.usage import Usage


class Client:
    """Zunray over HTTP (httpx): jobs here, the other resources on its managers."""

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
        self.functions = Functions(self)
        self.schedules = Schedules(self)
        self.usage = Usage(self)
        self.containers = Containers(self)
        self.secrets = Secrets(self)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        return Job.from_api(call(self.http, "POST", "/v1/jobs", json=body, headers=headers).json())

    def job(self, job_id: str) -> Job:
        return Job.from_api(call(self.http, "GET", f"/v1/jobs/{job_id}").json())

    def jobs(
        self,
        *,
        status: list[str] | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[Job]:
        """The project's jobs, newest first: all of them, or the newest ``limit``; ``marker``: after that job."""
        found = list_all(
            self.http, "/v1/jobs", "jobs", limit=limit, marker=marker, status=list(status or [])
        )
        return [Job.from_api(j) for j in found]

    def wait(self, job_id: str, *, timeout_s: float | None = None) -> Job:
        """Until the job ends (long-polls); raises TimeoutError past ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            left = 30.0 if deadline is None else min(30.0, deadline - time.monotonic())
            job = Job.from_api(
                call(self.http, "GET", f"/v1/jobs/{job_id}", params={"wait_s": max(left, 0)}).json()
            )
            if job.is_terminal():
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.status.value}")

    def logs(self, job_id: str) -> bytes:
        return call(self.http, "GET", f"/v1/jobs/{job_id}/logs").content

    def follow_logs(self, job_id: str, *, offset: int = 0) -> Iterator[bytes]:
        """The job's output as it comes (from byte ``offset``), until the job ends; resumes a dropped connection."""
        return follow_logs(self.http, job_id, offset=offset)

    def cancel(self, job_id: str) -> Job:
        return Job.from_api(call(self.http, "POST", f"/v1/jobs/{job_id}/cancel").json())

    def delete_job(self, job_id: str) -> None:
        """Delete an ended job and its logs (``Conflict`` while it runs)."""
        call(self.http, "DELETE", f"/v1/jobs/{job_id}")

    def why(self, job_id: str) -> Placement:
        """Why the job waits: placement's per-host reasons and scores for it, now."""
        return Placement.from_api(call(self.http, "GET", f"/v1/jobs/{job_id}/why").json())
