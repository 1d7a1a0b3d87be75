"""Functions, their instances and asynchronous invocations."""

from __future__ import annotations

import time
from typing import Any, Iterable

import sqlalchemy as sa

from runner.errors import Conflict, InvalidTransition, NotFound, Throttled
from runner.fair_share import RETRY_AFTER_S
from runner.functions.model import (
    INSTANCE_TRANSITIONS,
    Function,
    FunctionSpec,
    Instance,
    InstanceStatus,
    InvocationStatus,
    check_invocation,
)
from runner.models import sources_of
from runner.store.base import Tables, record_created
from runner.store.schema import function_instances, functions, invocations


def _function(row: sa.Row) -> Function:
    m = row._mapping
    return Function(
        m["uuid"],
        m["name"],
        m["project_id"],
        m["user_id"],
        m["version"],
        FunctionSpec.from_dict(m["spec"]),
        m["created_at"],
        m["updated_at"],
    )


def _instance(row: sa.Row) -> Instance:
    m = row._mapping
    return Instance(
        m["uuid"],
        m["function_uuid"],
        m["project_id"],
        m["version"],
        FunctionSpec.from_dict(m["spec"]),
        InstanceStatus(m["status"]),
        m["status_reason"],
        m["host"],
        dict(m["trace_context"] or {}),
        m["created_at"],
    )


class FunctionQueries(Tables):
    # -- functions --------------------------------------------------------
    def create_function(self, f: Function) -> Function:
        now = time.time()
        try:
            with self._write() as conn:
                conn.execute(
                    functions.insert().values(
                        uuid=f.uuid,
                        name=f.name,
                        project_id=f.project_id,
                        user_id=f.user_id,
                        version=1,
                        spec=f.spec.to_dict(),
                        created_at=now,
                        updated_at=now,
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"a function named {f.name} exists already", field="name") from exc
        return self.get_function(f.name, project_id=f.project_id)

    def get_function(self, name: str, *, project_id: str | None) -> Function:
        """By name in a project (or by uuid for the actors, ``project_id=None``)."""
        query = functions.select()
        query = (
            query.where(functions.c.uuid == name)
            if project_id is None
            else query.where(functions.c.project_id == project_id, functions.c.name == name)
        )
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            raise NotFound(f"function {name} not found")
        return _function(row)

    def list_functions(
        self, *, project_id: str | None, limit: int | None = None, marker: str | None = None
    ) -> list[Function]:
        """By name; ``marker`` is the last id (uuid) of the previous page (404 if not the project's)."""
        query = functions.select().order_by(functions.c.name, functions.c.uuid).limit(limit)
        if project_id is not None:
            query = query.where(functions.c.project_id == project_id)
        with self._read() as conn:
            if marker is not None:
                query = query.where(
                    self._after_marker(
                        conn, functions, functions.c.name, marker, project_id=project_id
                    )
                )
            return [_function(r) for r in conn.execute(query)]

    def update_function(self, uuid: str, spec: FunctionSpec, *, version: int) -> Function:
        """Store ``spec`` as the next version, if ``version`` is still the current one."""
        with self._write() as conn:
            done = conn.execute(
                functions.update()
                .where(functions.c.uuid == uuid, functions.c.version == version)
                .values(spec=spec.to_dict(), version=version + 1, updated_at=time.time())
            )
        if done.rowcount == 0:
            raise Conflict("the function changed meanwhile; read it again and retry")
        return self.get_function(uuid, project_id=None)

    def delete_function(self, uuid: str) -> None:
        """Forget the function; its queued invocations fail, finished ones stay."""
        now = time.time()
        with self._write() as conn:
            conn.execute(functions.delete().where(functions.c.uuid == uuid))
            conn.execute(
                invocations.update()
                .where(
                    invocations.c.function_uuid == uuid,
                    invocations.c.status == InvocationStatus.QUEUED.value,
                )
                .values(
                    status=InvocationStatus.FAILED.value,
                    status_reason="the function was deleted",
                    finished_at=now,
                    updated_at=now,
                )
            )

    # -- instances --------------------------------------------------------
    def create_instance(self, inst: Instance) -> Instance:
        now = time.time()
        with self._write() as conn:
            conn.execute(
                function_instances.insert().values(
                    uuid=inst.uuid,
                    function_uuid=inst.function_uuid,
                    project_id=inst.project_id,
                    version=inst.version,
                    spec=inst.spec.to_dict(),
                    status=inst.status.value,
                    status_reason=inst.status_reason,
                    host=None,
                    trace_context=inst.trace_context,
                    created_at=now,
                    updated_at=now,
                )
            )
            record_created(conn, "instance", [inst.uuid], now, inst.status.value, "created")
        return self.get_instance(inst.uuid)

    def get_instance(self, uuid: str) -> Instance:
        with self._read() as conn:
            row = conn.execute(
                function_instances.select().where(function_instances.c.uuid == uuid)
            ).one_or_none()
        if row is None:
            raise NotFound(f"instance {uuid} not found")
        return _instance(row)

    def list_instances(
        self,
        *,
        function_uuid: str | None = None,
        host: str | None = None,
        statuses: Iterable[InstanceStatus] | None = None,
    ) -> list[Instance]:
        query = function_instances.select().order_by(function_instances.c.created_at)
        if function_uuid is not None:
            query = query.where(function_instances.c.function_uuid == function_uuid)
        if host is not None:
            query = query.where(function_instances.c.host == host)
        if statuses is not None:
            query = query.where(function_instances.c.status.in_([s.value for s in statuses]))
        with self._read() as conn:
            return [_instance(r) for r in conn.execute(query)]

    def claim_instance_host(self, uuid: str, host: str) -> Instance | None:
        """Record the placement if the instance still waits for a host."""
        row = self._cas_update(
            function_instances,
            uuid,
            function_instances.c.host.is_(None),
            function_instances.c.status == InstanceStatus.CREATING.value,
            host=host,
        )
        return None if row is None else _instance(row)

    def update_instance(
        self, uuid: str, *, only_in: Iterable[InstanceStatus] | None = None, **values: Any
    ) -> Instance | None:
        """Set columns other than the status (``transition_instance`` changes that)."""
        if "status" in values:
            raise TypeError("a status changes through transition_instance")
        conditions = (
            [function_instances.c.status.in_([s.value for s in only_in])]
            if only_in is not None
            else []
        )
        row = self._cas_update(function_instances, uuid, *conditions, **values)
        return None if row is None else _instance(row)

    def transition_instance(
        self, uuid: str, to: InstanceStatus, *, reason: str | None = None
    ) -> Instance | None:
        """Move an instance to ``to`` as ``INSTANCE_TRANSITIONS`` allows, with its history event;
        None if not allowed from where it is (or if it is gone)."""
        row = self._transition(
            function_instances,
            function_instances.c.uuid,
            uuid,
            kind="instance",
            to=to.value,
            sources=[s.value for s in sources_of(to, INSTANCE_TRANSITIONS)],
            reason=reason,
        )
        return None if row is None else _instance(row)

    def delete_instance(self, uuid: str) -> None:
        with self._write() as conn:
            conn.execute(function_instances.delete().where(function_instances.c.uuid == uuid))
            self._forget_events(conn, uuid)

    # -- asynchronous invocations -----------------------------------------
    def create_invocation(self, values: dict[str, Any], *, max_queued: int = -1) -> dict[str, Any]:
        """Record a Queued invocation; ``max_queued`` (>= 0) caps the project's that have not ended
        (queued, or running: waiting for an instance counts as running) — past it ``Throttled``."""
        now = time.time()
        with self._write() as conn:
            if max_queued >= 0:
                project = values["project_id"]
                if (
                    conn.dialect.name == "postgresql"
                ):  # serialise the project's admissions, as quotas do
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(hashtext(:p))"),
                        {"p": f"zunray-invocations:{project}"},
                    )
                open_ = [InvocationStatus.QUEUED.value, InvocationStatus.RUNNING.value]
                pending = conn.execute(
                    sa.select(sa.func.count()).where(
                        invocations.c.project_id == project, invocations.c.status.in_(open_)
                    )
                ).scalar_one()
                if pending >= max_queued:
                    raise Throttled(
                        f"the project has {pending} asynchronous invocations not yet ended, its limit (max_async_invocations_per_project)",
                        retry_after_s=RETRY_AFTER_S,
                    )
            conn.execute(
                invocations.insert().values(
                    status=InvocationStatus.QUEUED.value,
                    status_reason="queued",
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
        return self.get_invocation(values["uuid"])

    def get_invocation(self, uuid: str, *, project_id: str | None = None) -> dict[str, Any]:
        query = invocations.select().where(invocations.c.uuid == uuid)
        if project_id is not None:
            query = query.where(invocations.c.project_id == project_id)
        with self._read() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            raise NotFound(f"invocation {uuid} not found")
        return dict(row._mapping)

    def invocations_with_status(
        self, statuses: Iterable[InvocationStatus], *, limit: int = 1000
    ) -> list[dict[str, Any]]:
        query = (
            invocations.select()
            .where(invocations.c.status.in_([s.value for s in statuses]))
            .order_by(invocations.c.created_at)
            .limit(limit)
        )
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def transition_invocation(
        self, uuid: str, status: InvocationStatus, *, reason: str, **values: Any
    ) -> dict[str, Any]:
        """Apply one status change (checked against the table) atomically."""
        with self._write() as conn:
            row = conn.execute(
                sa.select(invocations.c.status).where(invocations.c.uuid == uuid)
            ).one_or_none()
            if row is None:
                raise NotFound(f"invocation {uuid} not found")
            check_invocation(uuid, InvocationStatus(row[0]), status)
            done = conn.execute(
                invocations.update()
                .where(invocations.c.uuid == uuid, invocations.c.status == row[0])
                .values(status=status.value, status_reason=reason, updated_at=time.time(), **values)
            )
            if done.rowcount == 0:
                raise InvalidTransition("invocation", uuid, row[0], status.value)
        return self.get_invocation(uuid)
