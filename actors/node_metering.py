"""The metering half of a NodeActor: usage records for what runs on its host.

Every ``usage_interval_s`` each running capsule here (job, Zun container,
capsule, function instance) gets a record for the time since its last one;
when it ends, a last record with how it ended. Where one stopped is read back
from the store (the newest record's end), so a restarted node actor goes on
without a gap or a double count. cpu and memory are what was allocated:
cpu-seconds = cpus x seconds, as clouds bill reserved capacity.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from actors.node_host import HostContext
from runner.containers import Capsule, Container, ContainerStatus
from runner.functions.model import Instance, InstanceStatus
from runner.models import Job, JobStatus, Resources
from runner.usage import usage_row

log = logging.getLogger(__name__)


def of_job(job: Job) -> dict[str, Any]:
    """What a usage record says of a job (with ``since``, when it started running)."""
    return dict(
        kind="job",
        object_id=job.id,
        project_id=job.project_id,
        name=job.name,
        runtime=job.capsule.runtime,
        resources=job.demand(),
        since=job.started_at,
    )


def of_container(c: Container) -> dict[str, Any]:
    return dict(
        kind="container",
        object_id=c.uuid,
        project_id=c.project_id,
        name=c.name,
        runtime=c.capsule.runtime,
        resources=c.demand(),
        since=c.started_at or c.created_at,
    )


def of_capsule(cap: Capsule) -> dict[str, Any]:
    return dict(
        kind="capsule",
        object_id=cap.uuid,
        project_id=cap.project_id,
        name=cap.name,
        runtime=cap.capsule.runtime,
        resources=cap.demand(),
        since=cap.created_at,
    )


def of_instance(inst: Instance) -> dict[str, Any]:
    return dict(
        kind="instance",
        object_id=inst.uuid,
        project_id=inst.project_id,
        name=inst.function_uuid,
        runtime=inst.spec.runtime,
        resources=inst.demand(),
        since=inst.created_at,
    )


class Metering:
    """Usage records of what runs on this node; nothing to take back at start (the store has where each stopped)."""

    def __init__(self, host: HostContext) -> None:
        self.host = host
        self.store = host.store
        self._lock = threading.Lock()  # a metering tick and a capsule's last record never overlap

    def _running_here(self) -> list[dict]:
        """What runs on this host now: (kind, id, project, name, runtime, resources, started)."""
        name = self.host.name
        running = [ContainerStatus.RUNNING]
        return [
            *(of_job(j) for j in self.store.jobs.jobs_with_status([JobStatus.RUNNING], host=name)),
            *(
                of_container(c)
                for c in self.store.containers.list_containers(
                    project_id=None, host=name, statuses=running
                )
            ),
            *(
                of_capsule(cap)
                for cap in self.store.capsules.list_capsules(
                    project_id=None, host=name, statuses=running
                )
            ),
            *(
                of_instance(i)
                for i in self.store.functions.list_instances(
                    host=name, statuses=[InstanceStatus.READY]
                )
            ),
        ]

    def meter(self) -> None:
        """Timer: a record for every running capsule, for the time since its last one."""
        with self._lock:
            running = self._running_here()
            last = self.store.usage_records.last_metered(r["object_id"] for r in running)
            now = time.time()
            rows = []
            for r in running:
                start = max(last.get(r["object_id"], 0.0), r.pop("since") or now)
                if now - start >= 0.001:
                    rows.append(usage_row(host=self.host.name, start=start, end=now, **r))
            self.store.usage_records.record_usage(rows)

    def end(
        self,
        *,
        kind: str,
        object_id: str,
        project_id: str,
        name: str,
        runtime: str,
        resources: Resources,
        since: float | None,
        status: str,
        exit_code: int | None = None,
    ) -> None:
        """The last record of a capsule that ended (from its last record, or ``since``)."""
        if since is None or not self.host.settings.usage_metering:
            return  # it never ran, or metering is off
        with self._lock:
            start = max(
                self.store.usage_records.last_metered([object_id]).get(object_id, 0.0), since
            )
            row = usage_row(
                project_id=project_id,
                kind=kind,
                object_id=object_id,
                name=name,
                host=self.host.name,
                runtime=runtime,
                resources=resources,
                start=start,
                end=time.time(),
                status=status,
                exit_code=exit_code,
            )
            self.store.usage_records.record_usage([row])
