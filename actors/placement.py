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
from contextlib import suppress
from dataclasses import replace
from collections.abc import Callable

from actors import placeables
from actors.placeables import Request
from actors.placement_hosts import HostState
from policies import Decision, Hosts, decide, make_filters, make_scores
from policies.fair_share import round_robin
from policies.table import HostTable
from runner import job_service, lifecycle
from runner.errors import NotFound, ZunrayError
from runner.models import JobStatus
from runner.settings import Settings
from runner.store import Store
from runner.telemetry import continued

log = logging.getLogger(__name__)

#: upper bounds of the placement latency histogram (seconds)
LATENCY_BUCKETS_S = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    float("inf"),
)

FULL_ROUND_S = 2.0


class PlacementActor:
    """Places waiting capsules (jobs, Zun containers) on hosts and dispatches them."""

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        dispatch: Callable[[str, str, object], None],
        cancel: Callable[[str, str], None] = lambda host, job_id: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.dispatch = dispatch  # (kind, host, record) -> None: hand it to that host's node
        self.cancel = cancel  # (host, job id) -> None: kill a running job there
        self.clock = clock
        self.filters = make_filters(settings.placement_filters)
        self.scores = make_scores(settings.placement_scores, settings.placement_score_params)
        self.hosts: dict[str, HostState] = {}
        self.table = HostTable()  # the same hosts as arrays, updated in place
        self.disabled: dict[str, str] = {}  # hosts an operator disabled -> reason (from the store)
        self.claims: dict[str, Request] = {}  # object id -> request with its host
        self._pins: dict[str, dict[str, float]] = {}  # host -> dedicated claims there: id -> cpus
        self.pending: dict[str, Request] = {}  # object id -> request, in arrival order
        self.last_reason: dict[str, str] = {}
        self.latency_counts = [0] * len(LATENCY_BUCKETS_S)  # submit to claim, per histogram bucket
        self.latency_sum_s = 0.0
        self.decisions = 0
        self._last_round = 0.0
        self._lock = threading.RLock()
        self.resync()

    # -- inputs -----------------------------------------------------------
    def heartbeat(self, report: dict) -> None:
        """A node's inventory and health; registers the host on first sight."""
        with self._lock:
            name = report["name"]
            host = self.hosts.get(name)
            if host is None:
                host = self.hosts[name] = HostState(
                    name=name, cpu_total=0, memory_mb=0, runtimes=[]
                )
                log.info("host %s registered", name)
            changed = host.apply(report, now=self.clock())
            host.upsert_into(self.table, self.settings, self._pending_pins(name, report))
            if name in self.disabled:
                self.table.set_disabled(self.disabled)  # a host registered after it was disabled
            if changed:
                self._schedule()  # only a changed host can change a decision

    def submit(self, *obj_ids: str, kind: str = placeables.JOB) -> None:
        """New jobs (or containers, ...) of one kind were committed to the store: one round for
        all of them (the gateway sends what was committed meanwhile in one call)."""
        with self._lock:
            for obj_id in obj_ids:
                req = placeables.load(self.store, kind, obj_id)
                if req is not None:
                    self.pending[obj_id] = req
            self._schedule()

    def finished(self, obj_id: str, kind: str = placeables.JOB, host: str | None = None) -> None:
        """A node released a capsule (job attempt ended, container deleted).

        ``host`` is who says so: a host that was lost and came back must not
        release the claim of the job's new placement elsewhere.
        """
        with self._lock:
            claim = self.claims.get(obj_id)
            if claim is not None and lifecycle.releases_claim(claim.host, host):
                self._drop_claim(obj_id)
            req = placeables.load(self.store, kind, obj_id)
            if req is not None:  # a job's retry waits again
                self.pending[obj_id] = req
            elif kind == placeables.JOB:
                parent_id = claim.parent_id if claim is not None else self._parent_of(obj_id)
                if parent_id:
                    self._settle_array(parent_id)
            self._schedule()

    def resized(self, uuid: str) -> None:
        """A placed Zun container's cpu or memory changed: its claim on its host follows the store."""
        with self._lock:
            if uuid not in self.claims:
                return
            held = self._drop_claim(uuid)
            with suppress(NotFound):  # deleted meanwhile: its claim goes with it
                self._add_claim(replace(held, demand=placeables.container_demand(self.store, uuid)))
            self._schedule()  # a smaller claim may make room

    def hosts_changed(self) -> None:
        """An operator enabled or disabled hosts: read them again and place what waits."""
        with self._lock:
            self.disabled = self.store.hosts.disabled_hosts()
            self.table.set_disabled(self.disabled)
            self._schedule()

    def resync(self) -> None:
        """Rebuild the queue and the claims from the store (the source of truth)."""
        with self._lock:
            self.disabled = self.store.hosts.disabled_hosts()
            self.table.set_disabled(self.disabled)
            self.claims, self._pins = {}, {}
            self.table.clear_used()
            for r in placeables.holding(self.store):
                self._add_claim(r)
            self.pending = {
                r.id: r for r in placeables.waiting(self.store) if r.id not in self.claims
            }
            self._schedule()

    def tick(self) -> None:
        """Periodic: mark silent hosts down; place jobs whose retry backoff ended.

        Everything else schedules on its event (submit, finished, a changed
        host); a full round every ``FULL_ROUND_S`` is the safety net for
        changes nobody announces (a quota raised, a clock jump).
        """
        with self._lock:
            now = self.clock()
            changed = False
            for host in self.hosts.values():
                if host.up and now - host.last_seen > self.settings.host_down_after_s:
                    host.up = False
                    self.table.set_up(host.name, False)
                    log.warning("host %s missed its heartbeats; marked down", host.name)
                    self._host_lost(host.name)
                    changed = True
            backoff_over = any(
                r.not_before and self._last_round < r.not_before <= now
                for r in self.pending.values()
            )
            if changed or backoff_over or now - self._last_round >= FULL_ROUND_S:
                self._schedule()

    def _add_claim(self, req: Request) -> None:
        self.claims[req.id] = req
        self.table.claim(req.host, req.demand)
        if req.demand.dedicated:
            self._pins.setdefault(req.host, {})[req.id] = req.demand.cpu

    def _drop_claim(self, obj_id: str) -> Request:
        req = self.claims.pop(obj_id)
        self.table.release(req.host, req.demand)
        self._pins.get(req.host, {}).pop(obj_id, None)
        return req

    def _pending_pins(self, host: str, report: dict) -> float:
        """Dedicated cpus claimed here but not yet pinned by the node when it reported."""
        pins = self._pins.get(host)
        if not pins:
            return 0.0
        running = set(report.get("running", ()))
        return sum(cpu for job_id, cpu in pins.items() if job_id not in running)

    def _parent_of(self, job_id: str) -> str | None:
        try:
            return self.store.jobs.get_job(job_id).parent_id
        except ZunrayError:
            return None

    def _settle_array(self, parent_id: str) -> None:
        try:
            for task in job_service.settle_array(self.store, parent_id, now=self.clock()):
                try:
                    cancelled = self.store.jobs.request_cancel(task.id, project_id=None)
                except ZunrayError:
                    continue
                if cancelled.host and not cancelled.status.is_terminal():
                    self.cancel(cancelled.host, cancelled.id)
                self.pending.pop(task.id, None)
        except ZunrayError:
            log.exception("cannot settle array %s", parent_id)

    def _host_lost(self, name: str) -> None:
        """Jobs on a lost host go back to the queue; Zun objects with a restart policy are
        created again elsewhere, others become Unknown (``placeables.replace_lost``)."""
        for obj_id, req in list(self.claims.items()):
            if req.host != name:
                continue
            self._drop_claim(obj_id)
            try:
                if req.kind == placeables.JOB:
                    self._requeue_lost_job(obj_id, name)
                elif again := placeables.replace_lost(self.store, req, f"host {name} lost"):
                    self.pending[obj_id] = again
            except ZunrayError:
                log.exception("cannot record the loss of %s on %s", obj_id, name)

    def _requeue_lost_job(self, job_id: str, host: str) -> None:
        """Place it again, or fail it (``lifecycle.after_host_lost``); a task that failed settles its array."""
        step = lifecycle.after_host_lost(self.store.jobs.get_job(job_id), host, now=self.clock())
        if step is None:
            return
        job = self.store.jobs.transition_job(job_id, step.status, reason=step.reason, **step.fields)
        if job.status is JobStatus.QUEUED:
            self.pending[job_id] = placeables.from_job(job)
        elif job.parent_id:
            self._settle_array(job.parent_id)

    # -- metrics ----------------------------------------------------------
    def _observe_latency(self, seconds: float) -> None:
        for i, bound in enumerate(LATENCY_BUCKETS_S):
            if seconds <= bound:
                self.latency_counts[i] += 1
                break
        self.latency_sum_s += seconds

    def metrics(self) -> dict:
        """What /metrics and the dashboard show from placement: queues, capsules holding a host, decisions, latency."""
        with self._lock:
            queued: dict[str, int] = {}
            for req in self.pending.values():
                queued[req.project_id] = queued.get(req.project_id, 0) + 1
            placed: dict[str, int] = {}
            for req in self.claims.values():
                placed[req.project_id] = placed.get(req.project_id, 0) + 1
            return {
                "queued": queued,
                "placed": placed,
                "decisions": self.decisions,
                "latency": {
                    "buckets": list(zip(LATENCY_BUCKETS_S, self.latency_counts)),
                    "sum": self.latency_sum_s,
                },
                "containers_created": {
                    h.name: h.info.get("containers_created") or {} for h in self.hosts.values()
                },
            }

    # -- queries ----------------------------------------------------------
    def health(self) -> dict:
        with self._lock:
            return {
                "hosts": [h.health(self.table, self.disabled) for h in self.hosts.values()],
                "pending": len(self.pending),
                "running": len(self.claims),
                "decisions": self.decisions,
            }

    def explain(self, job_id: str) -> dict:
        """Per-host reasons and scores for a job, as if placed now."""
        with self._lock:
            decision = decide(
                placeables.from_job(self.store.jobs.get_job(job_id)).demand,
                self._snapshot(),
                self.filters,
                self.scores,
            )
            return {
                "summary": decision.summary(),
                "host": decision.host,
                "reasons": decision.reasons,
                "scores": decision.scores,
            }

    # -- the loop ---------------------------------------------------------
    def _snapshot(self) -> Hosts:
        return self.table.hosts

    def _schedule(self) -> None:
        now = self.clock()
        self._last_round = now
        if not self.pending:
            return
        hosts = self._snapshot()
        usage: dict[str, tuple[dict, dict]] = {}  # project -> (used, limits), read once per round
        due = (
            (obj_id, req.project_id)
            for obj_id, req in self.pending.items()
            if not (req.not_before and req.not_before > now)
        )
        considered = round_robin(due, per_project=self.settings.placement_per_project_per_round)
        for obj_id in considered:
            req = self.pending.get(obj_id)
            if req is None:
                continue  # dropped meanwhile (cancelled)
            decision = decide(req.demand, hosts, self.filters, self.scores, explain=False)
            self.decisions += 1
            if decision.host is None:
                self._note_pending(req, decide(req.demand, hosts, self.filters, self.scores))
                continue
            if (
                req.parent_id
                and sum(1 for c in self.claims.values() if c.parent_id == req.parent_id)
                >= req.parallelism
            ):
                self._note(req, f"waiting: the array's parallelism ({req.parallelism}) is in use")
                continue
            if req.kind in placeables.QUEUED_KINDS:
                if req.project_id not in usage:
                    usage[req.project_id] = (
                        self._project_usage(req.project_id),
                        self.store.quotas.quota(req.project_id),
                    )
                used, limits = usage[req.project_id]
                if blocked := placeables.quota_block(req, used, limits):
                    self._note(req, blocked)
                    continue
            try:
                with continued(
                    req.trace_context,
                    "placement.decide",
                    **{"zunray.job": obj_id, "zunray.kind": req.kind, "zunray.host": decision.host},
                ):
                    record = placeables.claim(self.store, req, decision.host)
            except ZunrayError:
                log.exception("cannot record placement of %s", obj_id)
                continue
            del self.pending[obj_id]
            self.last_reason.pop(obj_id, None)
            if record is None:
                continue  # cancelled or deleted meanwhile
            req.host = decision.host
            self._observe_latency(time.monotonic() - req.queued_at)
            self._add_claim(req)
            if req.project_id in usage:
                for res, amount in req.quota.items():
                    usage[req.project_id][0][res] += amount
            self.dispatch(req.kind, decision.host, record)
        for obj_id in (
            considered
        ):  # what still waits goes behind its project's others: the next round looks further
            if obj_id in self.pending:
                self.pending[obj_id] = self.pending.pop(obj_id)

    def _project_usage(self, project_id: str) -> dict[str, float]:
        """Zun objects from the store plus the jobs this actor has placed."""
        used = self.store.quotas.usage(project_id)
        for r in self.claims.values():
            if r.kind in placeables.QUEUED_KINDS and r.project_id == project_id:
                for res, amount in r.quota.items():
                    used[res] += amount
        return used

    def _note_pending(self, req: Request, decision: Decision) -> None:
        self._note(req, f"waiting for a host: {decision.summary()}")

    def _note(self, req: Request, reason: str) -> None:
        if self.last_reason.get(req.id) != reason:
            self.last_reason[req.id] = reason
            if not placeables.note(self.store, req, reason):
                self.pending.pop(req.id, None)  # cancelled meanwhile
                self.last_reason.pop(req.id, None)
