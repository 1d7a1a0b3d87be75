"""ApiActor: the Python SDK's entrance when it talks to Ray instead of HTTP.

Owns nothing: it reads and writes the store and tells the other actors, as the
gateway's routes do, for callers inside the cluster (``ray://`` or a driver).
Such a caller holds the cluster's Ray token and so could run any code there:
it is trusted like an operator and names the project it acts for, so the
access rules (which tell a project's roles apart) do not apply. Request fields
are validated by the SDK with the HTTP API's schemas (``runner/schemas.py``)
before they get here; the operator's bounds are checked again here, as the
routes do. A plain class; ``actors.bootstrap`` wraps it with ``ray.remote``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from runner import job_service
from runner.fair_share import caps_of
from runner.functions.model import Function
from runner.models import Job
from runner.schemas import JobIn, check_bounds
from runner.settings import Settings
from runner.store import Store

WAIT_POLL_S = 0.02


class ApiActor:
    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        place: Callable[[str], None],
        signal_cancel: Callable[[str, str], None],
        node_logs: Callable[[str, str], bytes],
        run_async: Callable[[str], None],
    ) -> None:
        self.store = store
        self.settings = settings
        self.place = place  # (job id): placement takes it
        self.signal_cancel = signal_cancel  # (host, job id): its node kills it
        self.node_logs = node_logs  # (host, job id): live output of a running job
        self.run_async = run_async  # (invocation id): the function actor runs it

    # -- jobs -------------------------------------------------------------
    def submit_job(
        self, project_id: str, user_id: str, fields: dict, submission_id: str | None = None
    ) -> Job:
        check_bounds(JobIn.model_validate(fields), self.settings)
        job, _, to_place = job_service.accept(
            self.store,
            fields,
            project_id=project_id,
            user_id=user_id,
            submission_id=submission_id,
            default_timeout_s=self.settings.default_timeout_s,
            caps=caps_of(self.store, self.settings, project_id),
        )
        for task in to_place:
            self.place(task.id)
        return job

    def get_job(self, project_id: str, job_id: str, wait_s: float = 0.0) -> Job:
        """The job; with ``wait_s``, once it ended or that many seconds passed."""
        until = time.monotonic() + wait_s
        job = self.store.jobs.get_job(job_id, project_id=project_id)
        while not job.status.is_terminal() and time.monotonic() < until:
            time.sleep(WAIT_POLL_S)
            job = self.store.jobs.get_job(job_id, project_id=project_id)
        return job

    def job_logs(self, project_id: str, job_id: str) -> bytes:
        job = self.store.jobs.get_job(job_id, project_id=project_id)
        if job_service.logs_on_node(job):
            return self.node_logs(job.host, job.id)
        kept = self.store.jobs.get_logs(job.id)
        return kept[0] if kept else b""

    def cancel_job(self, project_id: str, job_id: str) -> Job:
        job, placed = job_service.cancel(self.store, job_id, project_id=project_id)
        for target in placed:
            self.signal_cancel(target.host, target.id)
        return job

    # -- functions --------------------------------------------------------
    def function(self, project_id: str, name: str) -> Function:
        return self.store.functions.get_function(name, project_id=project_id)

    def invoke_async(self, project_id: str, user_id: str, name: str, payload: bytes) -> dict:
        fn = self.store.functions.get_function(name, project_id=project_id)
        inv = self.store.functions.create_invocation(
            {
                "uuid": str(uuid.uuid4()),
                "function_uuid": fn.uuid,
                "function_name": fn.name,
                "project_id": project_id,
                "user_id": user_id,
                "payload": payload,
            },
            max_queued=caps_of(self.store, self.settings, project_id)["async_invocations"],
        )
        self.run_async(inv["uuid"])
        return inv

    def invocation(self, project_id: str, inv_id: str) -> dict:
        return self.store.functions.get_invocation(inv_id, project_id=project_id)

    def ping(self) -> bool:
        return True
