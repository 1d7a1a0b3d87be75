"""Job queries. Every status change goes through ``store.jobs.transition_job``."""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from runner.errors import Conflict, InvalidTransition, NotFound, Throttled
from runner.fair_share import RETRY_AFTER_S
from runner.models import JOB_TRANSITIONS, Job, JobStatus, sources_of
from runner.store.base import Tables, minute_of, record_created
from runner.store.job_rows import NewJob, as_inserted, insert_values, row_to_job
from runner.store.schema import job_logs, jobs

_TERMINAL = [s.value for s in JobStatus if s.is_terminal()]


class JobQueries(Tables):
    """Jobs, their history events and their kept logs."""

    # -- jobs -------------------------------------------------------------
    def create_job(
        self, job: Job, *, tasks: Iterable[Job] = (), max_queued: int = -1
    ) -> tuple[Job, bool]:
        """Insert ``job`` (and an array's ``tasks``, in the same transaction);
        with a known ``submission_id`` return the existing one.

        Returns ``(job, created)``. Idempotent per (project, submission_id).
        ``max_queued`` (>= 0) caps the project's jobs waiting for a host, these
        included: past it ``Throttled``, nothing written.
        """
        outcome = self.create_jobs([NewJob(job, tuple(tasks), max_queued)])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def create_jobs(self, batch: Sequence[NewJob]) -> list[tuple[Job, bool] | Exception]:
        """Commit many submissions in one transaction (a group commit): each gets what
        ``create_job`` would answer for it alone, or the error it would raise. One that fails
        (a cap passed) leaves the others; nothing is visible before the whole batch committed."""
        now = time.time()
        outcomes: list[tuple[Job, bool] | Exception] = []
        try:
            with self._write() as conn:
                for new in batch:
                    try:
                        # a savepoint per submission when there are several: PostgreSQL aborts
                        # the whole transaction on a failed statement unless rolled back to one
                        with conn.begin_nested() if len(batch) > 1 else nullcontext():
                            self._insert(conn, new, now)
                        outcomes.append((as_inserted(new.job, now), True))
                    except sa.exc.IntegrityError as exc:
                        if len(batch) == 1:
                            raise
                        replay = self._replayed(conn, new.job) if new.job.submission_id else None
                        outcomes.append(replay or exc)
                    except Throttled as exc:
                        outcomes.append(exc)
        except sa.exc.IntegrityError:  # a lone submission (a batch's fail one by one, above)
            job = batch[0].job
            replay = None
            if job.submission_id is not None:
                with self._read() as conn:
                    replay = self._replayed(conn, job)
            if replay is None:
                raise
            return [replay]
        return outcomes

    def _insert(self, conn: sa.Connection, new: NewJob, now: float) -> None:
        rows = (new.job, *new.tasks)
        if new.max_queued >= 0:
            self._admit_queued(conn, new.job, len(new.tasks) or 1, new.max_queued)
        # one statement compiled once, its rows as parameters (cheaper than .values())
        conn.execute(jobs.insert(), [insert_values(row, now) for row in rows])
        record_created(conn, "job", [r.id for r in rows], now, new.job.status.value)

    @staticmethod
    def _replayed(conn: sa.Connection, job: Job) -> tuple[Job, bool] | None:
        """The job an earlier submission with ``job``'s submission id made, if any."""
        row = conn.execute(
            jobs.select().where(
                jobs.c.project_id == job.project_id, jobs.c.submission_id == job.submission_id
            )
        ).one_or_none()
        return None if row is None else (row_to_job(row), False)

    @staticmethod
    def _admit_queued(conn: sa.Connection, job: Job, adding: int, max_queued: int) -> None:
        """Raise Throttled unless ``adding`` more queued jobs fit the project's cap (a replay always does)."""
        if conn.dialect.name == "postgresql":  # serialise the project's admissions, as quotas do
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:p))"),
                {"p": f"zunray-queued:{job.project_id}"},
            )
        waiting = jobs.c.status == JobStatus.QUEUED.value
        not_a_parent = sa.or_(
            jobs.c.completions <= 1, jobs.c.parent_id.is_not(None)
        )  # an array's parent never runs itself
        queued = conn.execute(
            sa.select(sa.func.count()).where(
                jobs.c.project_id == job.project_id, waiting, not_a_parent
            )
        ).scalar_one()
        if queued + adding <= max_queued:
            return
        if job.submission_id is not None:
            seen = sa.select(jobs.c.id).where(
                jobs.c.project_id == job.project_id, jobs.c.submission_id == job.submission_id
            )
            if conn.execute(seen).first() is not None:
                return  # the insert fails on the submission id and the known job is returned
        raise Throttled(
            f"the project has {queued} jobs waiting for a host; at most {max_queued} may wait (max_queued_jobs_per_project)",
            retry_after_s=RETRY_AFTER_S,
        )

    def get_job(self, job_id: str, *, project_id: str | None = None) -> Job:
        """The job; ``NotFound`` if absent or (with ``project_id``) another project's."""
        query = jobs.select().where(jobs.c.id == job_id)
        if project_id is not None:
            query = query.where(jobs.c.project_id == project_id)
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return row_to_job(row)

    def list_jobs(
        self,
        *,
        project_id: str | None,
        statuses: Iterable[JobStatus] = (),
        limit: int = 50,
        marker: str | None = None,
    ) -> list[Job]:
        """Newest first; ``marker`` is the last id of the previous page."""
        query = jobs.select().order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
        if project_id is not None:
            query = query.where(jobs.c.project_id == project_id)
        status_values = [s.value for s in statuses]
        if status_values:
            query = query.where(jobs.c.status.in_(status_values))
        with self._read() as conn:
            if marker is not None:
                mark_query = sa.select(jobs.c.created_at).where(jobs.c.id == marker)
                if (
                    project_id is not None
                ):  # another project's marker is as unknown as one that never existed
                    mark_query = mark_query.where(jobs.c.project_id == project_id)
                mark = conn.execute(mark_query).one_or_none()
                if mark is None:
                    raise NotFound(f"marker {marker} not found")
                query = query.where(
                    sa.or_(
                        jobs.c.created_at < mark.created_at,
                        sa.and_(jobs.c.created_at == mark.created_at, jobs.c.id < marker),
                    )
                )
            return [row_to_job(r) for r in conn.execute(query)]

    def jobs_with_status(
        self, statuses: Iterable[JobStatus], *, host: str | None = None
    ) -> list[Job]:
        """Jobs in any of ``statuses`` (on ``host`` if given), oldest first."""
        query = (
            jobs.select()
            .where(jobs.c.status.in_([s.value for s in statuses]))
            .order_by(jobs.c.created_at)
        )
        if host is not None:
            query = query.where(jobs.c.host == host)
        with self._read() as conn:
            return [row_to_job(r) for r in conn.execute(query)]

    def transition_job(
        self,
        job_id: str,
        to: JobStatus,
        *,
        reason: str = "",
        only_from: Iterable[JobStatus] | None = None,
        logs: tuple[bytes, int] | None = None,
        table: dict[JobStatus, frozenset[JobStatus]] = JOB_TRANSITIONS,
        fence: tuple[str, int] | None = None,
        **fields: Any,
    ) -> Job:
        """Move a job to ``to`` in one transaction, or raise ``InvalidTransition``.

        The state machine's table decides which statuses may lead to ``to``;
        ``only_from`` narrows that further (compare-and-set). ``fence`` (host,
        attempt) refuses the change unless the job is still that attempt on that
        host: a node that was declared lost and comes back cannot record an
        outcome for a job that moved on. ``fields`` are other columns to set at
        the same time; ``logs`` saves the kept logs.
        """
        allowed = sources_of(to, table)
        if only_from is not None:
            allowed = allowed & frozenset(only_from)
        row = self._transition(
            jobs,
            jobs.c.id,
            job_id,
            kind="job",
            to=to.value,
            sources=[s.value for s in allowed],
            reason=reason,
            conditions=_fenced(fence),
            then=None if logs is None else (lambda conn: self._save_logs(conn, job_id, *logs)),
            **fields,
        )
        if row is None:
            with self._read() as conn:
                now = conn.execute(
                    sa.select(jobs.c.status).where(jobs.c.id == job_id)
                ).one_or_none()
            if now is None:
                raise NotFound(f"job {job_id} not found")
            raise InvalidTransition("job", job_id, now.status, to.value)
        return row_to_job(row)

    def tasks_of(self, parent_id: str) -> list[Job]:
        query = jobs.select().where(jobs.c.parent_id == parent_id).order_by(jobs.c.task_index)
        with self._read() as conn:
            return [row_to_job(r) for r in conn.execute(query)]

    def take_retry(self, parent_id: str) -> bool:
        """Use one retry of an array's shared budget (backoff_limit); False when none is left."""
        with self._write() as conn:
            done = conn.execute(
                jobs.update()
                .where(jobs.c.id == parent_id, jobs.c.retries_used < jobs.c.backoff_limit)
                .values(retries_used=jobs.c.retries_used + 1)
            ).rowcount
        return done > 0

    def update_job(
        self,
        job_id: str,
        *,
        only_in: Iterable[JobStatus] | None = None,
        fence: tuple[str, int] | None = None,
        **fields: Any,
    ) -> bool:
        """Set non-status columns (e.g. a queued job's pending reason, a start's progress).

        With ``only_in``, only while the job is in one of those statuses; with ``fence``
        (host, attempt), only while it is still that attempt on that host. Returns whether
        a row changed.
        """
        if "status" in fields:
            raise TypeError("a status changes through transition_job")
        query = jobs.update().where(jobs.c.id == job_id, *_fenced(fence))
        if only_in is not None:
            query = query.where(jobs.c.status.in_([s.value for s in only_in]))
        with self._write() as conn:
            return conn.execute(query.values(updated_at=time.time(), **fields)).rowcount > 0

    def request_cancel(self, job_id: str, *, project_id: str | None) -> Job:
        """Mark a job for cancellation; a queued one is cancelled right away."""
        job = self.get_job(job_id, project_id=project_id)
        if job.status.is_terminal():
            raise Conflict(f"job {job_id} is already {job.status.value}")
        try:
            return self.transition_job(
                job_id,
                JobStatus.CANCELLED,
                reason="cancelled by user",
                only_from=[JobStatus.QUEUED],
                finished_at=time.time(),
            )
        except InvalidTransition:
            pass
        with self._write() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status.not_in(_TERMINAL))
                .values(cancel_requested=True, updated_at=time.time())
            )
        return self.get_job(job_id)

    def delete_job(self, job_id: str, *, project_id: str | None) -> None:
        """Delete a terminal job with its events and logs."""
        job = self.get_job(job_id, project_id=project_id)
        with self._write() as conn:
            result = conn.execute(
                jobs.delete().where(jobs.c.id == job_id, jobs.c.status.in_(_TERMINAL))
            )
            if result.rowcount == 0:
                raise Conflict(
                    f"job {job_id} is {job.status.value}; cancel it or wait until it ends"
                )
            self._forget_events(conn, job_id)
            conn.execute(job_logs.delete().where(job_logs.c.job_id == job_id))

    def ended_per_minute(
        self, *, start: float, end: float, project_id: str | None
    ) -> list[tuple[str, str, float, int]]:
        """(project, status, minute start, jobs) for the jobs (not array tasks) that ended in [start, end)."""
        minute = minute_of(jobs.c.finished_at)
        query = (
            sa.select(jobs.c.project_id, jobs.c.status, minute, sa.func.count())
            .where(jobs.c.finished_at >= start, jobs.c.finished_at < end)
            .where(jobs.c.parent_id.is_(None), jobs.c.status.in_(_TERMINAL))
            .group_by(jobs.c.project_id, jobs.c.status, minute)
        )
        if project_id is not None:
            query = query.where(jobs.c.project_id == project_id)
        with self._read() as conn:
            return [(p, status, m * 60.0, n) for p, status, m, n in conn.execute(query)]

    # -- logs -------------------------------------------------------------
    def save_logs(self, job_id: str, data: bytes, truncated_bytes: int) -> None:
        with self._write() as conn:
            self._save_logs(conn, job_id, data, truncated_bytes)

    @staticmethod
    def _save_logs(conn: sa.Connection, job_id: str, data: bytes, truncated_bytes: int) -> None:
        conn.execute(job_logs.delete().where(job_logs.c.job_id == job_id))
        conn.execute(
            job_logs.insert().values(job_id=job_id, data=data, truncated_bytes=truncated_bytes)
        )

    def get_logs(self, job_id: str) -> tuple[bytes, int] | None:
        """Kept logs and how many leading bytes were dropped, or None."""
        with self._read() as conn:
            row = conn.execute(job_logs.select().where(job_logs.c.job_id == job_id)).one_or_none()
        return None if row is None else (bytes(row.data), row.truncated_bytes)


def _fenced(fence: tuple[str, int] | None) -> list:
    if fence is None:
        return []
    host, attempt = fence
    return [jobs.c.host == host, jobs.c.attempt == attempt]
