"""PlacementActor: the queue of pending capsules, the host inventory and the claims.

Owns: which job waits, which host holds which claim. Dies with: nothing
durable. On start it rebuilds from the store (queued jobs, active jobs' claims)
and from node heartbeats. Decisions come from the pure ``policies`` package.
It is a plain class; ``actors.bootstrap`` wraps it with ``ray.remote``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from policies import Decision, Demand, Hosts, decide, make_filters, make_scores
from runner.errors import InvalidTransition, NotFound, ZunrayError
from runner.models import Job, JobStatus
from runner.settings import Settings
from runner.store import Store
from runner.telemetry import continued

log = logging.getLogger(__name__)

ACTIVE = (JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING)


@dataclass(slots=True)
class HostState:
    """What a node last told us about its host."""

    name: str
    cpu_total: float
    memory_mb: float
    runtimes: list[str]
    docker_ok: bool = True
    docker_error: str = ""
    last_seen: float = 0.0
    up: bool = True
    info: dict = field(default_factory=dict)


def _demand(job: Job) -> Demand:
    d = job.demand()
    return Demand(cpu=d.cpu, memory_mb=d.memory_mb, disk_gb=d.disk_gb, runtime=job.capsule.runtime)


class PlacementActor:
    """Places queued jobs on hosts and dispatches them to node actors."""

    def __init__(self, *, store: Store, settings: Settings, dispatch: Callable[[str, Job], None], clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.dispatch = dispatch  # (host, job) -> None: hand a placed job to that host's node
        self.clock = clock
        self.filters = make_filters(settings.placement_filters)
        self.scores = make_scores(settings.placement_scores)
        self.hosts: dict[str, HostState] = {}
        self.claims: dict[str, tuple[str, Demand]] = {}  # job id -> (host, demand)
        self.pending: dict[str, Job] = {}  # job id -> job, in arrival order
        self.last_reason: dict[str, str] = {}
        self.decisions = 0
        self._lock = threading.RLock()
        self.resync()

    # -- inputs -----------------------------------------------------------
    def heartbeat(self, report: dict) -> None:
        """A node's inventory and health; registers the host on first sight."""
        with self._lock:
            name = report["name"]
            host = self.hosts.get(name)
            if host is None:
                host = self.hosts[name] = HostState(name=name, cpu_total=0, memory_mb=0, runtimes=[])
                log.info("host %s registered", name)
            host.cpu_total = float(report["cpus"])
            host.memory_mb = float(report["memory_mb"])
            host.runtimes = list(report["runtimes"])
            host.docker_ok = bool(report["docker_ok"])
            host.docker_error = report.get("docker_error", "")
            host.last_seen = self.clock()
            host.up = True
            host.info = report
            self._schedule()

    def submit(self, job_id: str) -> None:
        """A new job was committed to the store."""
        with self._lock:
            try:
                job = self.store.get_job(job_id)
            except NotFound:
                return
            if job.status is JobStatus.QUEUED:
                self.pending[job.id] = job
                self._schedule()

    def finished(self, job_id: str) -> None:
        """A node ended a job's attempt: release its claim, requeue a retry."""
        with self._lock:
            self.claims.pop(job_id, None)
            try:
                job = self.store.get_job(job_id)
            except NotFound:
                job = None
            if job is not None and job.status is JobStatus.QUEUED:
                self.pending[job.id] = job
            self._schedule()

    def resync(self) -> None:
        """Rebuild the queue and the claims from the store (the source of truth)."""
        with self._lock:
            active = self.store.jobs_with_status(ACTIVE)
            self.claims = {j.id: (j.host, _demand(j)) for j in active if j.host}
            queued = self.store.jobs_with_status([JobStatus.QUEUED])
            self.pending = {j.id: j for j in queued if j.id not in self.claims}
            self._schedule()

    def tick(self) -> None:
        """Periodic: mark silent hosts down, retry jobs whose backoff ended."""
        with self._lock:
            now = self.clock()
            for host in self.hosts.values():
                if host.up and now - host.last_seen > self.settings.host_down_after_s:
                    host.up = False
                    log.warning("host %s missed its heartbeats; marked down", host.name)
            self._schedule()

    # -- queries ----------------------------------------------------------
    def health(self) -> dict:
        with self._lock:
            return {
                "hosts": [
                    {
                        "name": h.name,
                        "up": h.up,
                        "docker_ok": h.docker_ok,
                        "docker_error": h.docker_error,
                        "cpus": h.cpu_total,
                        "memory_mb": h.memory_mb,
                        "runtimes": h.runtimes,
                        "cpu_used": sum(d.cpu for host, d in self.claims.values() if host == h.name),
                        "memory_used_mb": sum(d.memory_mb for host, d in self.claims.values() if host == h.name),
                    }
                    for h in self.hosts.values()
                ],
                "pending": len(self.pending),
                "running": len(self.claims),
                "decisions": self.decisions,
            }

    def explain(self, job_id: str) -> dict:
        """Per-host reasons and scores for a job, as if placed now."""
        with self._lock:
            job = self.store.get_job(job_id)
            decision = decide(_demand(job), self._snapshot(), self.filters, self.scores)
            return {"summary": decision.summary(), "host": decision.host, "reasons": decision.reasons, "scores": decision.scores}

    # -- the loop ---------------------------------------------------------
    def _snapshot(self) -> Hosts:
        names = list(self.hosts)
        used_cpu = dict.fromkeys(names, 0.0)
        used_mem = dict.fromkeys(names, 0.0)
        for host, d in self.claims.values():
            if host in used_cpu:
                used_cpu[host] += d.cpu
                used_mem[host] += d.memory_mb
        hs = [self.hosts[n] for n in names]
        s = self.settings
        return Hosts(
            names=names,
            cpu_total=np.array([h.cpu_total for h in hs], dtype=float),
            cpu_capacity=np.array([h.cpu_total * s.cpu_allocation_ratio for h in hs], dtype=float),
            cpu_used=np.array([used_cpu[n] for n in names], dtype=float),
            memory_capacity=np.array([h.memory_mb * s.memory_allocation_ratio for h in hs], dtype=float),
            memory_used=np.array([used_mem[n] for n in names], dtype=float),
            disk_capacity=np.full(len(names), np.inf),
            disk_used=np.zeros(len(names)),
            runtimes=[frozenset(h.runtimes) for h in hs],
            up=np.array([h.up and h.docker_ok for h in hs], dtype=bool),
        )

    def _schedule(self) -> None:
        if not self.pending:
            return
        now = self.clock()
        hosts = self._snapshot()
        for job_id, job in list(self.pending.items()):
            if job.not_before and job.not_before > now:
                continue
            demand = _demand(job)
            decision = decide(demand, hosts, self.filters, self.scores, explain=False)
            self.decisions += 1
            if decision.host is None:
                self._note_pending(job, decide(demand, hosts, self.filters, self.scores))
                continue
            try:
                with continued(job.trace_context, "placement.decide", **{"zunray.job": job.id, "zunray.host": decision.host}):
                    placed = self.store.transition_job(job.id, JobStatus.PLACED, reason=f"placed on {decision.host}", only_from=[JobStatus.QUEUED], host=decision.host)
            except (InvalidTransition, NotFound):
                del self.pending[job_id]  # cancelled or deleted meanwhile
                continue
            except ZunrayError:
                log.exception("cannot record placement of %s", job.id)
                continue
            del self.pending[job_id]
            self.last_reason.pop(job_id, None)
            self.claims[job.id] = (decision.host, demand)
            row = hosts.names.index(decision.host)
            hosts.cpu_used[row] += demand.cpu
            hosts.memory_used[row] += demand.memory_mb
            self.dispatch(decision.host, placed)

    def _note_pending(self, job: Job, decision: Decision) -> None:
        reason = f"waiting for a host: {decision.summary()}"
        if self.last_reason.get(job.id) != reason:
            self.last_reason[job.id] = reason
            if not self.store.update_job(job.id, only_in=[JobStatus.QUEUED], status_reason=reason):
                self.pending.pop(job.id, None)  # cancelled meanwhile
                self.last_reason.pop(job.id, None)
