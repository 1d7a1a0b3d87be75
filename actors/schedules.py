"""ScheduleActor: turns cron schedules into jobs, each fire time exactly once.

Owns: nothing durable. Every fire time is recorded in the store keyed by
(schedule, scheduled time) before its job is created, and the job's
submission id is derived from the same key, so a restart of this actor (or of
the gateway) never creates a run twice; ``checked_until`` says up to where
fire times are decided. The arithmetic is ``policies.schedule`` (pure).
It is a plain class; ``actors.bootstrap`` wraps it with ``ray.remote``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone

from policies.schedule import BadSchedule, concurrency, history_to_delete, plan
from runner.errors import Conflict, NotFound, ZunrayError
from runner.job_spec import build_job
from runner.models import Job, JobStatus
from runner.store import Store

log = logging.getLogger(__name__)

TICK_S = 1.0
MIN_STARTING_DEADLINE_S = 2 * TICK_S


class ScheduleActor:
    def __init__(
        self,
        *,
        store: Store,
        submit: Callable[[str], None],
        cancel: Callable[[Job], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.submit = submit  # tells placement a job was committed
        self.cancel = cancel  # kills a running job on its node (Replace)
        self.clock = clock

    def tick(self) -> None:
        for schedule in self.store.schedules.list_schedules(project_id=None, active_only=True):
            try:
                self.advance(schedule)
            except (ZunrayError, BadSchedule):
                log.exception("schedule %s could not advance", schedule["uuid"])

    def advance(self, s: dict) -> None:
        now = self.clock()
        p = plan(
            s["cron"],
            s["time_zone"],
            last=datetime.fromtimestamp(s["checked_until"], timezone.utc),
            now=datetime.fromtimestamp(now, timezone.utc),
            starting_deadline_s=s["starting_deadline_s"],
        )
        for missed in p.missed:
            why = (
                "past its starting deadline"
                if s["starting_deadline_s"] is not None
                else "superseded by a newer fire time after downtime"
            )
            if p.more_missed and missed is p.missed[-1]:
                why += f" (and about {p.more_missed} more fire times were missed)"
            self.store.schedules.record_run(
                s["uuid"], missed.timestamp(), outcome="Missed", reason=why
            )
        if p.start is not None:
            self._fire(s, p.start.timestamp())
        self.store.schedules.update_schedule(s["uuid"], checked_until=now)
        self._prune(s)

    def _active_jobs(self, s: dict) -> list[Job]:
        active = []
        for run in self.store.schedules.list_runs(s["uuid"], limit=50):
            if run["outcome"] == "Started" and run["job_id"]:
                try:
                    job = self.store.jobs.get_job(run["job_id"])
                except NotFound:
                    continue
                if not job.status.is_terminal():
                    active.append(job)
        return active

    def _fire(self, s: dict, at: float) -> None:
        run = self.store.schedules.get_run(s["uuid"], at)
        if run is None:
            active = self._active_jobs(s)
            decision = concurrency(s["concurrency_policy"], active=bool(active))
            if decision == "skip":
                self.store.schedules.record_run(
                    s["uuid"],
                    at,
                    outcome="Skipped",
                    reason=f"job {active[0].id} is still {active[0].status.value} (Forbid)",
                )
                return
            if decision == "replace":
                for job in active:
                    self._replace(job)
            self.store.schedules.record_run(s["uuid"], at, outcome="Started")
            run = self.store.schedules.get_run(s["uuid"], at)
        if run is None or run["outcome"] != "Started" or run["job_id"]:
            return  # decided before (maybe by a previous life of this actor)
        job = build_job(
            s["job"],
            project_id=s["project_id"],
            user_id=s["user_id"],
            submission_id=f"schedule:{s['uuid']}:{at:.6f}",
            default_timeout_s=None,
        )
        job, created = self.store.jobs.create_job(job)
        self.store.schedules.set_run_job(s["uuid"], at, job.id)
        if created:
            self.submit(job.id)

    def _replace(self, job: Job) -> None:
        try:
            cancelled = self.store.jobs.request_cancel(job.id, project_id=None)
        except Conflict:
            return  # it just ended
        if cancelled.host and not cancelled.status.is_terminal():
            self.cancel(cancelled)

    def _prune(self, s: dict) -> None:
        """Keep the newest successful/failed jobs within the history limits (run records stay)."""
        ended = []
        for run in self.store.schedules.list_runs(s["uuid"], limit=500):
            if not run["job_id"]:
                continue
            try:
                job = self.store.jobs.get_job(run["job_id"])
            except NotFound:
                continue
            if job.status.is_terminal():
                ended.append((job.id, job.status is JobStatus.SUCCEEDED))
        limits = {
            "successful_limit": s["successful_history_limit"],
            "failed_limit": s["failed_history_limit"],
        }
        for job_id in history_to_delete(ended, **limits):
            self.store.jobs.delete_job(job_id, project_id=None)
