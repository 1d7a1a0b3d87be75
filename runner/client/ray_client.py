"""The Python SDK over a Ray connection: the job methods of ``runner.Client`` and the calls
of its ``functions`` manager, in the same shape, calling Zunray's actors directly, with the
same typed results.

    from runner import RayClient
    zr = RayClient("ray://head:10001", project_id="demo")   # or address="auto" inside the cluster
    print(zr.functions.invoke("echo", {"n": 1}))

A Ray connection carries the cluster's token and may run any code there, so a
RayClient is trusted like an operator: it names the project it acts for (no
Keystone check), and the access rules (``policies/access.py``), which tell
roles of a project apart, do not apply to it: whoever holds the token could run
the same job through Ray directly. Fields are validated with the same schemas as
HTTP (``runner/schemas.py``), so bad input fails here as it would over HTTP, and
the operator's bounds (registries, sysctls, the longest timeout) are applied
again by the ApiActor. Functions are registered, and schedules, usage and Zun containers
reached, over HTTP only (``runner.Client``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import ray

from runner.client.resources import Invocation, Job
from runner.errors import ZunrayError
from runner.ray_connect import API, FUNCTIONS, connect
from runner.schemas import JobIn, invocation_out, job_out
from runner.settings import Settings

CALL_TIMEOUT_S = 60.0


def _get(ref: ray.ObjectRef, timeout_s: float = CALL_TIMEOUT_S) -> Any:
    """An actor call's answer; a Zunray error raised there is raised here as itself."""
    try:
        return ray.get(ref, timeout=timeout_s)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, ZunrayError):
            raise exc.cause from None
        raise


class RayClient:
    """Zunray over Ray: jobs (submit, job, wait, logs, cancel) and ``functions`` (invoke now or
    later, read an invocation)."""

    def __init__(
        self,
        address: str | None = None,
        *,
        project_id: str = "default",
        user_id: str = "sdk",
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.project_id = project_id
        self.user_id = user_id
        self._own_connection = not ray.is_initialized()
        connect(self.settings, address)
        self.api = ray.get_actor(API, namespace=self.settings.ray_namespace)
        self.functions = RayFunctions(
            self, ray.get_actor(FUNCTIONS, namespace=self.settings.ray_namespace)
        )

    def close(self) -> None:
        if self._own_connection:
            ray.shutdown()

    def __enter__(self) -> RayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- jobs -------------------------------------------------------------
    def submit(
        self,
        image: str,
        command: list[str] | tuple[str, ...] = (),
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Job:
        body = JobIn.model_validate({"image": image, "command": list(command), **fields})
        job = _get(
            self.api.submit_job.remote(
                self.project_id,
                self.user_id,
                body.model_dump(),
                idempotency_key or body.submission_id,
            )
        )
        return Job.from_api(job_out(job))

    def job(self, job_id: str) -> Job:
        return Job.from_api(job_out(_get(self.api.get_job.remote(self.project_id, job_id))))

    def wait(self, job_id: str, *, timeout_s: float | None = None) -> Job:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            left = 30.0 if deadline is None else max(0.0, min(30.0, deadline - time.monotonic()))
            ref = self.api.get_job.remote(self.project_id, job_id, left)
            job = Job.from_api(job_out(_get(ref, timeout_s=left + CALL_TIMEOUT_S)))
            if job.is_terminal():
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job.status.value}")

    def logs(self, job_id: str) -> bytes:
        return _get(self.api.job_logs.remote(self.project_id, job_id))

    def cancel(self, job_id: str) -> Job:
        return Job.from_api(job_out(_get(self.api.cancel_job.remote(self.project_id, job_id))))


class RayFunctions:
    """``RayClient(...).functions``: the calls of ``Client.functions`` that Ray serves, in the same
    shape (here, not a module of its own: it shares this module's ``_get`` and is short)."""

    def __init__(self, client: RayClient, actor: ray.actor.ActorHandle) -> None:
        self._client = client  # its ApiActor handle and the project and user it acts for
        self._actor = actor  # the FunctionActor: a call is one Ray hop
        self._versions: dict[str, tuple[str, int]] = {}  # name -> (uuid, version) last looked up

    def invoke(self, name: str, payload: Any = None, *, raw: bytes | None = None) -> Any:
        """Call a function straight through the function actor (one Ray hop)."""
        content = (
            raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        )
        api, project_id = self._client.api, self._client.project_id
        if name not in self._versions:
            fn = _get(api.function.remote(project_id, name))
            self._versions[name] = (fn.uuid, fn.version)
        fn_uuid, version = self._versions[name]
        try:
            reply = _get(self._actor.invoke.remote(fn_uuid, version, content, {}))
        except ZunrayError:
            self._versions.pop(name, None)  # deleted or changed: look it up again next time
            raise
        return json.loads(reply.body) if reply.kind == "json" else reply.body

    def invoke_async(self, name: str, payload: Any = None) -> str:
        """Queue a call; returns the invocation id (see ``invocation``)."""
        content = b"" if payload is None else json.dumps(payload).encode()
        c = self._client
        return _get(c.api.invoke_async.remote(c.project_id, c.user_id, name, content))["uuid"]

    def invocation(self, inv_id: str) -> Invocation:
        """A queued call: its status, and its result or error once it ended."""
        ref = self._client.api.invocation.remote(self._client.project_id, inv_id)
        return Invocation.from_api(invocation_out(_get(ref)))
