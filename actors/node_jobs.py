"""Job supervision on a NodeActor's host: each job runs in a thread, Starting ->
Running -> terminal; the last ``log_max_bytes`` of its output are kept in the store,
its containers removed, retries applied with backoff. After a restart ``start()``
adopts the containers of running jobs, or ends their jobs with a reason.
"""

from __future__ import annotations

import logging
import threading
import time

from actors.node_host import HostContext
from actors.node_isolation import Isolation
from actors.node_metering import Metering, of_job
from actors.node_progress import StartProgress
from policies.retry import backoff_s
from runner.capsule_run import CapsuleRun, InitFailed
from runner.errors import InvalidTransition, NotFound, RuntimeFailure, ZunrayError
from runner.log_tail import LogRead, LogTail, read_from
from runner.models import ARRAY_TRANSITIONS, Job, JobStatus
from runner.runtimes.nova import NovaRun
from runner.runtimes.registry import Runtimes
from runner.runtimes.vm import VmRun
from runner.telemetry import continued, tracer

log = logging.getLogger(__name__)

CANCELLED = "cancelled by user"


class Jobs:
    """The jobs placed on this node, one thread each."""

    def __init__(
        self, host: HostContext, *, isolation: Isolation, metering: Metering, runtimes: Runtimes
    ) -> None:
        self.host = host
        self.store = host.store
        self.isolation = isolation
        self.metering = metering
        self.runtimes = runtimes  # what runs a capsule, by its runtime's name
        self._runs: dict[str, CapsuleRun | VmRun | NovaRun] = {}  # running here, by job id
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._runs)

    # -- commands ---------------------------------------------------------
    def run(self, job: Job) -> None:
        """Start a placed job in the background; returns at once."""
        threading.Thread(
            target=self._run_traced, args=(job,), name=f"job-{job.id[:8]}", daemon=True
        ).start()

    def cancel(self, job_id: str) -> None:
        """Kill a job's containers; its thread records it as Cancelled."""
        with self._lock:
            self._cancelled.add(job_id)
            run = self._runs.get(job_id)
        if run is not None:
            run.kill()

    def logs(self, job_id: str) -> bytes:
        """Live output of a running job (its last ``log_max_bytes``), else what was kept of it."""
        return self._kept_logs(job_id)[0]

    def read_logs(self, job_id: str, offset: int) -> LogRead:
        """A job's output past byte ``offset`` of all it printed (live while it runs)."""
        data, dropped = self._kept_logs(job_id)
        return read_from(data, dropped + len(data), offset)

    def _kept_logs(self, job_id: str) -> tuple[bytes, int]:
        with self._lock:
            run = self._runs.get(job_id)
        if run is not None and run.output is not None:
            return run.output.kept()
        return self.store.jobs.get_logs(job_id) or (b"", 0)  # ended (the store has what was kept)

    # -- a job's life -----------------------------------------------------
    def _run_traced(self, job: Job) -> None:
        with continued(
            job.trace_context, "node.run", **{"zunray.job": job.id, "zunray.host": self.host.name}
        ):
            try:
                self._run(job)
            except (
                Exception
            ) as exc:  # a bug must not leave the job hanging: end it and free the host
                log.exception("job %s failed inside the node actor", job.id)
                try:
                    self.store.jobs.transition_job(
                        job.id,
                        JobStatus.FAILED,
                        reason=f"internal error: {exc}",
                        finished_at=time.time(),
                    )
                except ZunrayError:
                    pass
                self.host.finished(job.id)

    def _run(self, job: Job) -> None:
        fence = (self.host.name, job.attempt)
        try:
            job = self.store.jobs.transition_job(
                job.id,
                JobStatus.STARTING,
                reason=f"attempt {job.attempt + 1} starting",
                only_from=[JobStatus.PLACED],
                attempt=job.attempt + 1,
                fence=fence,
            )
        except (InvalidTransition, NotFound):
            self.host.finished(job.id)
            return
        deadline = time.time() + job.timeout_s if job.timeout_s else None
        try:
            run = self.runtimes.named(job.capsule.runtime).new_run(
                capsule_id=job.id, project=job.project_id, spec=job.capsule, attempt=job.attempt
            )
        except (
            ZunrayError
        ) as exc:  # a runtime this host has not (no Nova endpoint): placement sends none
            self._fail_unrun(job, exc.message)
            return
        run.output = LogTail(max_bytes=self.host.settings.log_max_bytes)
        run.progress = StartProgress(self.store, job.id, fence=(self.host.name, job.attempt))
        try:
            run.cpuset = self.isolation.cpuset_for(job.id, job.capsule)
            self.isolation.mount_hugepages(job.id, run)
        except ZunrayError as exc:
            self._finish(job, run, JobStatus.FAILED, exc.message)
            return
        with self._lock:
            self._runs[job.id] = run
            cancelled = job.cancel_requested or job.id in self._cancelled
        if cancelled:
            self._finish(job, run, JobStatus.CANCELLED, CANCELLED)
            return
        try:
            if not run.start(deadline=deadline):
                self._finish(
                    job, run, JobStatus.TIMED_OUT, f"exceeded its timeout of {job.timeout_s:g} s"
                )
                return
            job = self.store.jobs.transition_job(
                job.id,
                JobStatus.RUNNING,
                reason="running",
                only_from=[JobStatus.STARTING],
                started_at=time.time(),
                fence=(self.host.name, job.attempt),
            )
            if job.parent_id:
                self._array_started(job)
        except InitFailed as exc:
            self._finish(job, run, JobStatus.FAILED, exc.message, exit_code=exc.exit_code)
            return
        except ZunrayError as exc:
            cancelled = self._was_cancelled(job.id)
            self._finish(
                job,
                run,
                JobStatus.CANCELLED if cancelled else JobStatus.FAILED,
                CANCELLED if cancelled else exc.message,
            )
            return
        self._supervise(job, run, deadline)

    def _supervise(self, job: Job, run: CapsuleRun, deadline: float | None) -> None:
        """Wait for a running capsule and record how it ended."""
        try:
            with tracer().start_as_current_span("container.wait"):
                code = run.wait(deadline=deadline)
        except (
            RuntimeFailure
        ) as exc:  # the runtime says why (a VM's missing binary, a panic, a kill)
            if self._was_cancelled(job.id):
                self._finish(job, run, JobStatus.CANCELLED, CANCELLED)
            else:
                self._finish(job, run, JobStatus.FAILED, exc.message)
            return
        except ZunrayError as exc:
            self._finish(job, run, JobStatus.FAILED, f"lost track of the container: {exc.message}")
            return
        if self._was_cancelled(job.id):
            self._finish(job, run, JobStatus.CANCELLED, CANCELLED, exit_code=code)
        elif code is None:
            run.kill()
            self._finish(
                job, run, JobStatus.TIMED_OUT, f"exceeded its timeout of {job.timeout_s:g} s"
            )
        elif code == 0:
            self._finish(job, run, JobStatus.SUCCEEDED, "exited with 0", exit_code=0)
        else:
            why = f"exited with {code}"
            if run.oom_killed():
                why += f" (OOMKilled: memory limit {job.capsule.demand().memory_mb} MB)"
            self._finish(job, run, JobStatus.FAILED, why, exit_code=code)

    def fence(self) -> None:
        """Timer: stop runs whose job moved on (re-placed elsewhere after this host was
        declared lost, or a newer attempt): one job never runs twice at once for long."""
        with self._lock:
            runs = list(self._runs.items())
        for job_id, run in runs:
            try:
                job = self.store.jobs.get_job(job_id)
            except NotFound:
                job = None
            if job is None or job.host != self.host.name or job.attempt != run.attempt:
                log.warning(
                    "job %s moved on (now %s on %s): stopping its run here",
                    job_id,
                    job and job.status.value,
                    job and job.host,
                )
                try:
                    run.kill()
                except ZunrayError:
                    log.exception("cannot stop the stale run of %s", job_id)

    def _was_cancelled(self, job_id: str) -> bool:
        with self._lock:
            if job_id in self._cancelled:
                return True
        try:
            return self.store.jobs.get_job(job_id).cancel_requested
        except NotFound:
            return True

    def _finish(
        self,
        job: Job,
        run: CapsuleRun,
        status: JobStatus,
        reason: str,
        *,
        exit_code: int | None = None,
    ) -> None:
        """Keep the logs, record the outcome (or a retry), then remove the containers.

        The outcome is recorded before the removal so that waiting clients
        learn it at once; the claim on the host is released only after it.
        """
        run.drain_output()
        logs = run.output.close() if run.output is not None else (b"", 0)
        now = time.time()
        settings = self.host.settings
        if job.status is JobStatus.RUNNING:  # this attempt ran: its last usage record
            self.metering.end(
                **of_job(job),
                status=status.value,
                exit_code=exit_code,
            )
        failed = status in (JobStatus.FAILED, JobStatus.TIMED_OUT)
        # a task of an array draws on the array's shared budget (backoff_limit)
        retryable = failed and (
            job.attempt <= job.max_retries
            or (job.parent_id is not None and self.store.jobs.take_retry(job.parent_id))
        )
        fence = (self.host.name, job.attempt)
        try:
            if retryable:
                delay = backoff_s(
                    job.attempt, base_s=settings.retry_base_s, max_s=settings.retry_max_s
                )
                self.store.jobs.transition_job(
                    job.id,
                    JobStatus.QUEUED,
                    reason=f"attempt {job.attempt} {status.value}: {reason}; retry in {delay:.1f} s",
                    logs=logs,
                    host=None,
                    exit_code=exit_code,
                    not_before=now + delay,
                    fence=fence,
                )
            else:
                self.store.jobs.transition_job(
                    job.id,
                    status,
                    reason=reason,
                    logs=logs,
                    exit_code=exit_code,
                    finished_at=now,
                    fence=fence,
                )
        except (InvalidTransition, NotFound):
            pass  # ended elsewhere (deleted), or moved on to another host or attempt (fenced): nothing to record
        finally:
            try:
                run.remove()
            except ZunrayError:
                log.exception("cannot remove containers of %s", job.id)
            with self._lock:
                self._runs.pop(job.id, None)
                self._cancelled.discard(job.id)
            self.isolation.release(job.id)
            self.host.finished(job.id)

    def _fail_unrun(self, job: Job, reason: str) -> None:
        try:
            self.store.jobs.transition_job(
                job.id,
                JobStatus.FAILED,
                reason=reason,
                finished_at=time.time(),
                fence=(self.host.name, job.attempt),
            )
        except (InvalidTransition, NotFound):
            pass
        self.host.finished(job.id)

    def _array_started(self, task: Job) -> None:
        try:
            self.store.jobs.transition_job(
                task.parent_id,
                JobStatus.RUNNING,
                reason="tasks running",
                table=ARRAY_TRANSITIONS,
                only_from=[JobStatus.QUEUED],
                started_at=time.time(),
            )
        except (InvalidTransition, NotFound):
            pass  # a sibling started it already

    # -- after a restart --------------------------------------------------
    def start(self, found_by_capsule: dict[str, list]) -> None:
        """Adopt the containers of this host's running jobs (taken out of ``found_by_capsule``),
        run again the jobs whose dispatch died with the previous actor, end the others."""
        active = self.store.jobs.jobs_with_status(
            [JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING], host=self.host.name
        )
        for job in active:
            containers = found_by_capsule.pop(job.id, [])
            run = CapsuleRun.adopt(
                self.host.runtime,
                capsule_id=job.id,
                project=job.project_id,
                spec=job.capsule,
                found=containers,
                attempt=job.attempt,
            )
            apps = [c for c in containers if c.labels.get("zunray.role") == "app"]
            if job.status is JobStatus.PLACED and not containers:
                self.run(job)  # the dispatch died with the previous actor
            elif len(apps) == len(job.capsule.containers) and all(
                c.state in ("running", "exited") for c in apps
            ):
                self.isolation.readopt_pins(job.id, job.capsule, [c.id for c in apps])
                self._adopt(job, run)
            else:
                self._finish(
                    job, run, JobStatus.FAILED, "container lost while the node actor restarted"
                )

    def _adopt(self, job: Job, run: CapsuleRun) -> None:
        log.info("adopting job %s", job.id)
        run.output = LogTail(max_bytes=self.host.settings.log_max_bytes)
        run.read_output()  # from what the engine still has: offsets restart there
        with self._lock:
            self._runs[job.id] = run
        if job.status is JobStatus.STARTING:
            try:
                job = self.store.jobs.transition_job(
                    job.id,
                    JobStatus.RUNNING,
                    reason="running (adopted after node restart)",
                    started_at=time.time(),
                    fence=(self.host.name, job.attempt),
                )
            except (InvalidTransition, NotFound):
                pass
        deadline = (job.started_at or time.time()) + job.timeout_s if job.timeout_s else None
        threading.Thread(
            target=self._supervise,
            args=(job, run, deadline),
            name=f"adopt-{job.id[:8]}",
            daemon=True,
        ).start()
