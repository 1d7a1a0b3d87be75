"""NodeActor: runs capsules on its host and keeps what they leave behind.

Owns: the capsules running on its host (their containers), the live logs, the
Docker runtime. Dies with: its Ray node. Ray restarts it; on start it finds its
containers by their labels and adopts them, or ends their jobs with a reason,
so no container leaks and no job hangs. It is a plain class;
``actors.bootstrap`` wraps it with ``ray.remote``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests
from docker.errors import DockerException

from actors.guards import ObjectLocks, ProjectShares
from actors.node_capsules import CapsuleHost
from actors.node_containers import ContainerHost
from actors.node_functions import FunctionHost
from actors.node_isolation import IsolationHost
from actors.node_metering import Metering
from actors.node_nova import NovaHost, nova_pool
from policies.retry import backoff_s
from runner.capsule_run import CapsuleRun, InitFailed
from runner.cpus import CpuPinning, numa_nodes
from runner.errors import InvalidTransition, NotFound, RuntimeFailure, Unavailable, ZunrayError
from runner.log_tail import LogRead, LogTail, read_from
from runner.models import ARRAY_TRANSITIONS, CapsuleSpec, Job, JobStatus
from runner.runtimes.docker import DockerRuntime, hugepages_inventory
from runner.runtimes.docker_live import ContainerOps
from runner.runtimes.egress import Firewall, host_resolvers
from runner.runtimes.networks import ProjectNetworks
from runner.runtimes.nova import NovaRun
from runner.runtimes.nova_containers import NovaOps
from runner.runtimes.vm import VmRun, VmRuntime
from runner.runtimes.vm_containers import VmOps
from runner.settings import Settings
from runner.store import Store
from runner.telemetry import continued, tracer

log = logging.getLogger(__name__)


class NodeActor(ContainerHost, CapsuleHost, FunctionHost, Metering, NovaHost, IsolationHost):
    """One per host: runs the jobs, Zun containers, capsules and function instances placed on it."""

    def __init__(
        self,
        *,
        name: str,
        store: Store,
        runtime: DockerRuntime,
        settings: Settings,
        finished: Callable[..., None],
        instance_changed: Callable[[str], None] = lambda uuid: None,
        host_addresses: Callable[[], list[str]] = list,
    ) -> None:
        self.name = name
        self.store = store
        self.runtime = runtime
        firewall = Firewall(runtime.instance, blocked=settings.blocked_egress_cidrs, resolvers=host_resolvers())
        self.networks = ProjectNetworks(runtime, firewall, hosts=host_addresses)  # host_addresses: the cluster's hosts
        self.pinning = CpuPinning(numa_nodes(), reserved_shared=settings.reserved_shared_cpus)
        self.nova_pool = nova_pool(settings, name, runtime)  # None without a Nova endpoint
        self.nova_ops = NovaOps(self.nova_pool, runtime) if self.nova_pool else None  # Zun containers on Nova servers
        self.vm = VmRuntime(
            docker=runtime, kernel=settings.vm_kernel, cache_dir=settings.data_dir / "vm-images", run_dir=settings.data_dir / "vm-runs" / name,
            accel=settings.vm_accel, boot_timeout_s=settings.vm_boot_timeout_s, cache_max_mb=settings.vm_image_cache_mb,
        )
        self.vm_ops = VmOps(self.vm)  # the VMs of Zun containers with runtime vm
        self.settings = settings
        self.finished = finished  # (id, kind="job"): tells placement a capsule released its host
        self._runs: dict[str, CapsuleRun] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self.locks = ObjectLocks(wait_s=settings.node_busy_wait_s)  # one operation at a time per object, bounded waits
        self.shares = ProjectShares(limit=settings.node_project_ops_max, wait_s=settings.node_busy_wait_s)  # per project: this actor's threads
        self._inventory: dict | None = None
        self.instance_changed = instance_changed  # (instance uuid): tells the function actor it serves or failed
        self._instances: dict[str, CapsuleRun] = {}  # serving function instances
        self._exec_commands: dict[str, tuple[str, ...]] = {}  # instances of the command protocol: what each invocation runs
        self._conns: dict[str, list[socket.socket]] = defaultdict(list)  # idle shim connections per instance
        self._meter_lock = threading.Lock()  # a metering tick and a capsule's last record never overlap
        self.init_isolation()
        self.reconcile()

    def object_lock(self, uuid: str) -> threading.Lock:
        """Serialises create/act/delete on one Zun container or capsule (creation threads wait as long as it takes)."""
        return self.locks.lock(uuid)

    @contextmanager
    def operation(self, project: str, uuid: str, *, wait_s: float | None = None) -> Iterator[None]:
        """An operation asked of this node on one object: within its project's share of the
        actor's threads (429 past it) and alone on the object (409 busy after the wait)."""
        with self.shares.share(project), self.locks.hold(uuid, wait_s=wait_s):
            yield

    # -- reports ----------------------------------------------------------
    def report(self) -> dict:
        """Inventory and health, sent to placement as a heartbeat."""
        try:
            if self._inventory is None:
                self._inventory = self.runtime.inventory()
            else:
                self.runtime.ping()
            docker_ok, error = True, ""
        except Unavailable as exc:
            docker_ok, error = False, exc.message
        inv = dict(self._inventory or {"cpus": 0, "memory_mb": 0, "runtimes": []})
        if self.vm.available():  # QEMU and the kernel are here: placement may send VM capsules
            inv["runtimes"] = [*inv["runtimes"], "vm"]
            inv["vm_accel"] = self.vm.accel
        if self.nova_pool is not None:
            inv["runtimes"] = [*inv["runtimes"], "nova"]
        with self._lock:
            running = sorted(self._runs)
        return {
            "name": self.name,
            "pid": os.getpid(),  # the node actor's process (operators; the partition test)
            **inv,
            "docker_ok": docker_ok,
            "docker_error": error,
            "running": running,
            "labels": dict(self.settings.node_labels),
            "dedicated_free": self.pinning.dedicated_free(),
            "hugepages": hugepages_inventory(),  # read each time: operators change it live
            "containers_created": dict(self.runtime.created),
            "pinned_cpus": self.pinning.pinned_cpus(),
        }

    # -- commands ---------------------------------------------------------
    def run(self, job: Job) -> None:
        """Start a placed job in the background; returns at once."""
        threading.Thread(target=self._run_traced, args=(job,), name=f"job-{job.id[:8]}", daemon=True).start()

    def _run_traced(self, job: Job) -> None:
        with continued(job.trace_context, "node.run", **{"zunray.job": job.id, "zunray.host": self.name}):
            try:
                self._run(job)
            except Exception as exc:  # a bug must not leave the job hanging: end it and free the host
                log.exception("job %s failed inside the node actor", job.id)
                try:
                    self.store.jobs.transition_job(job.id, JobStatus.FAILED, reason=f"internal error: {exc}", finished_at=time.time())
                except ZunrayError:
                    pass
                self.finished(job.id)

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
    def _run(self, job: Job) -> None:
        try:
            job = self.store.jobs.transition_job(
                job.id, JobStatus.STARTING, reason=f"attempt {job.attempt + 1} starting", only_from=[JobStatus.PLACED], attempt=job.attempt + 1,
                fence=(self.name, job.attempt),
            )
        except (InvalidTransition, NotFound):
            self.finished(job.id)
            return
        deadline = time.time() + job.timeout_s if job.timeout_s else None
        if job.capsule.runtime == "vm":
            run = VmRun(self.vm, capsule_id=job.id, spec=job.capsule, attempt=job.attempt)
        elif job.capsule.runtime == "nova" and self.nova_pool is not None:
            run = NovaRun(self.nova_pool, self.runtime, capsule_id=job.id, project=job.project_id, spec=job.capsule, attempt=job.attempt)
        else:
            run = CapsuleRun(self.runtime, capsule_id=job.id, project=job.project_id, spec=job.capsule, networks=self.networks, attempt=job.attempt)
        run.output = LogTail(max_bytes=self.settings.log_max_bytes)
        try:
            run.cpuset = self.cpuset_for(job.id, job.capsule)
            self.mount_hugepages(job.id, run)
        except ZunrayError as exc:
            self._finish(job, run, JobStatus.FAILED, exc.message)
            return
        with self._lock:
            self._runs[job.id] = run
            cancelled = job.cancel_requested or job.id in self._cancelled
        if cancelled:
            self._finish(job, run, JobStatus.CANCELLED, "cancelled by user")
            return
        try:
            if not run.start(deadline=deadline):
                self._finish(job, run, JobStatus.TIMED_OUT, f"exceeded its timeout of {job.timeout_s:g} s")
                return
            job = self.store.jobs.transition_job(
                job.id, JobStatus.RUNNING, reason="running", only_from=[JobStatus.STARTING], started_at=time.time(), fence=(self.name, job.attempt)
            )
            if job.parent_id:
                self._array_started(job)
        except InitFailed as exc:
            self._finish(job, run, JobStatus.FAILED, exc.message, exit_code=exc.exit_code)
            return
        except ZunrayError as exc:
            status = JobStatus.CANCELLED if self._was_cancelled(job.id) else JobStatus.FAILED
            self._finish(job, run, status, "cancelled by user" if status is JobStatus.CANCELLED else exc.message)
            return
        self._supervise(job, run, deadline)

    def _supervise(self, job: Job, run: CapsuleRun, deadline: float | None) -> None:
        """Wait for a running capsule and record how it ended."""
        try:
            with tracer().start_as_current_span("container.wait"):
                code = run.wait(deadline=deadline)
        except RuntimeFailure as exc:  # the runtime says why (a VM's missing binary, a panic, a kill)
            if self._was_cancelled(job.id):
                self._finish(job, run, JobStatus.CANCELLED, "cancelled by user")
            else:
                self._finish(job, run, JobStatus.FAILED, exc.message)
            return
        except ZunrayError as exc:
            self._finish(job, run, JobStatus.FAILED, f"lost track of the container: {exc.message}")
            return
        if self._was_cancelled(job.id):
            self._finish(job, run, JobStatus.CANCELLED, "cancelled by user", exit_code=code)
        elif code is None:
            run.kill()
            self._finish(job, run, JobStatus.TIMED_OUT, f"exceeded its timeout of {job.timeout_s:g} s")
        elif code == 0:
            self._finish(job, run, JobStatus.SUCCEEDED, "exited with 0", exit_code=0)
        else:
            why = f"exited with {code}"
            if run.oom_killed():
                why += f" (OOMKilled: memory limit {job.capsule.demand().memory_mb} MB)"
            self._finish(job, run, JobStatus.FAILED, why, exit_code=code)

    def fence_runs(self) -> None:
        """Timer: stop runs whose job moved on (re-placed elsewhere after this host was
        declared lost, or a newer attempt): one job never runs twice at once for long."""
        with self._lock:
            runs = list(self._runs.items())
        for job_id, run in runs:
            try:
                job = self.store.jobs.get_job(job_id)
            except NotFound:
                job = None
            if job is None or job.host != self.name or job.attempt != getattr(run, "attempt", job.attempt):
                log.warning("job %s moved on (now %s on %s): stopping its run here", job_id, job and job.status.value, job and job.host)
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

    def _finish(self, job: Job, run: CapsuleRun, status: JobStatus, reason: str, *, exit_code: int | None = None) -> None:
        """Keep the logs, record the outcome (or a retry), then remove the containers.

        The outcome is recorded before the removal so that waiting clients
        learn it at once; the claim on the host is released only after it.
        """
        run.drain_output()
        logs = run.output.close() if run.output is not None else (b"", 0)
        now = time.time()
        if job.status is JobStatus.RUNNING:  # this attempt ran: its last usage record
            self.meter_end(kind="job", object_id=job.id, project_id=job.project_id, name=job.name, runtime=job.capsule.runtime,
                           resources=job.demand(), since=job.started_at, status=status.value, exit_code=exit_code)
        failed = status in (JobStatus.FAILED, JobStatus.TIMED_OUT)
        # a task of an array draws on the array's shared budget (backoff_limit)
        retryable = failed and (job.attempt <= job.max_retries or (job.parent_id is not None and self.store.jobs.take_retry(job.parent_id)))
        try:
            if retryable:
                delay = backoff_s(job.attempt, base_s=self.settings.retry_base_s, max_s=self.settings.retry_max_s)
                self.store.jobs.transition_job(
                    job.id,
                    JobStatus.QUEUED,
                    reason=f"attempt {job.attempt} {status.value}: {reason}; retry in {delay:.1f} s",
                    logs=logs,
                    host=None,
                    exit_code=exit_code,
                    not_before=now + delay,
                    fence=(self.name, job.attempt),
                )
            else:
                self.store.jobs.transition_job(job.id, status, reason=reason, logs=logs, exit_code=exit_code, finished_at=now, fence=(self.name, job.attempt))
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
            self.release_host_resources(job.id)
            self.finished(job.id)

    def cpuset_for(self, obj_id: str, capsule: CapsuleSpec) -> tuple[str | None, str | None]:
        """Pinned cpus for a dedicated capsule (job, Zun container or capsule), else the cpus nobody pinned."""
        if capsule.cpu_policy == "dedicated":
            return self.pin_dedicated(obj_id, capsule)
        return self.pinning.shared_cpuset(), None

    def remove_stale_copies(self, capsule_id: str) -> None:
        """Remove what another node left of a capsule on this engine (its host was lost and
        the capsule moved here): possible only where several nodes share one Docker engine."""
        for stale in self.runtime.managed(capsule=capsule_id):
            if stale.labels.get("zunray.node") != self.name:
                self.runtime.remove(stale.id)

    def _readopt_pins(self, obj_id: str, capsule: CapsuleSpec, container_ids: list[str]) -> None:
        """After a restart: a dedicated capsule's cpus are pinned again to it, as Docker has them."""
        if capsule.cpu_policy != "dedicated" or not container_ids:
            return
        try:
            cpuset = ContainerOps(self.runtime).inspect(container_ids[0])["HostConfig"].get("CpusetCpus") or ""
        except ZunrayError:
            return
        self.pinning.adopt(obj_id, cpuset)

    def _array_started(self, task: Job) -> None:
        try:
            self.store.jobs.transition_job(
                task.parent_id, JobStatus.RUNNING, reason="tasks running", table=ARRAY_TRANSITIONS, only_from=[JobStatus.QUEUED], started_at=time.time()
            )
        except (InvalidTransition, NotFound):
            pass  # a sibling started it already

    # -- after a restart --------------------------------------------------
    def recheck_networks(self) -> None:
        """Project networks' firewall rules as they should be (missing after a reboot or a firewall reload)."""
        try:
            self.networks.recheck()
        except (Unavailable, DockerException, requests.exceptions.RequestException) as exc:
            log.error("the egress rules of project networks could not be checked: %s", exc)

    def reconcile(self) -> None:
        """Adopt this host's containers, end jobs whose containers are gone."""
        self._adopt_nova_servers()  # they do not need this host's engine
        self.recheck_networks()  # before adopting: containers on project networks run again fenced
        try:
            found = self.runtime.managed(node=self.name)
        except Unavailable:
            log.warning("Docker unreachable at start; reconciliation postponed")
            return
        self.hugepages.clean_stale({c.labels.get("zunray.capsule", "") for c in found})  # mounts whose capsule has no container left
        by_capsule: dict[str, list] = defaultdict(list)
        for c in found:
            by_capsule[c.labels.get("zunray.capsule", "")].append(c)
        for cap in self.store.capsules.list_capsules(project_id=None, host=self.name):
            found_here = by_capsule.pop(cap.uuid, [])  # Zun capsules live on: sync_capsules follows them
            self._readopt_pins(cap.uuid, cap.capsule, [c.id for c in found_here if c.labels.get("zunray.role") == "app"])
        for ctr in self.store.containers.list_containers(project_id=None, host=self.name):
            found_here = by_capsule.pop(ctr.uuid, [])  # so do Zun containers: sync_containers follows them
            self._readopt_pins(ctr.uuid, ctr.capsule, [c.id for c in found_here])
        active = self.store.jobs.jobs_with_status([JobStatus.PLACED, JobStatus.STARTING, JobStatus.RUNNING], host=self.name)
        for job in active:
            containers = by_capsule.pop(job.id, [])
            run = CapsuleRun.adopt(self.runtime, capsule_id=job.id, project=job.project_id, spec=job.capsule, found=containers, attempt=job.attempt)
            apps = [c for c in containers if c.labels.get("zunray.role") == "app"]
            if job.status is JobStatus.PLACED and not containers:
                self.run(job)  # the dispatch died with the previous actor
            elif len(apps) == len(job.capsule.containers) and all(c.state in ("running", "exited") for c in apps):
                self._readopt_pins(job.id, job.capsule, [c.id for c in apps])
                self._adopt(job, run)
            else:
                self._finish(job, run, JobStatus.FAILED, "container lost while the node actor restarted")
        self.reconcile_instances(by_capsule)
        self.reboot_vm_capsules()
        self.reboot_vm_containers()
        for capsule_id, leftovers in by_capsule.items():  # containers of jobs that ended or vanished
            for c in leftovers:
                self.runtime.remove(c.id)
            self.hugepages.release(capsule_id)

    def _adopt(self, job: Job, run: CapsuleRun) -> None:
        log.info("adopting job %s", job.id)
        run.output = LogTail(max_bytes=self.settings.log_max_bytes)
        run.read_output()  # from what the engine still has: offsets restart there
        with self._lock:
            self._runs[job.id] = run
        if job.status is JobStatus.STARTING:
            try:
                job = self.store.jobs.transition_job(
                    job.id, JobStatus.RUNNING, reason="running (adopted after node restart)", started_at=time.time(), fence=(self.name, job.attempt)
                )
            except (InvalidTransition, NotFound):
                pass
        deadline = (job.started_at or time.time()) + job.timeout_s if job.timeout_s else None
        threading.Thread(target=self._supervise, args=(job, run, deadline), name=f"adopt-{job.id[:8]}", daemon=True).start()
