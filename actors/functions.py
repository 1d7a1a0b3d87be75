"""FunctionActor: keeps each function's warm instances and routes invocations.

Owns: the pools (which instances serve which function, how busy each is), the
invocations waiting for an instance, the counters, and the running of
asynchronous invocations recorded in the store (``AsyncInvocations``); calling
an instance is ``actors.function_calls.InstanceCalls``. Dies with: its node (it is
placed on the gateway's node, so a warm call to a local instance costs one Ray
hop plus a unix socket). Nothing it holds is the only copy: on start it
rebuilds its pools from the store's instance records and picks up queued
asynchronous invocations. A plain class with async methods; ``actors.bootstrap``
wraps it with ``ray.remote`` (an async actor: one event loop, no locks).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Awaitable, Callable

from actors.function_async import AsyncInvocations
from actors.function_calls import InstanceCalls
from actors.function_pool import Pool, Slot
from policies.warm_pool import instances_to_retire, instances_to_start
from runner.errors import (
    FunctionFailed,
    NotFound,
    Throttled,
    Unavailable,
    ZunrayError,
)
from runner.functions import wire
from runner.functions.model import Instance, InstanceStatus, InvocationStatus
from runner.models import ZERO
from runner.settings import Settings
from runner.store import Store
from runner.usage import usage_row

log = logging.getLogger(__name__)


class FunctionActor:
    """Warm pools and the invocation router, for every function of every project."""

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        host: str,
        submit_instance: Callable[[str], None],
        stop_instance: Callable[[str, str], None],
        invoke_remote: Callable[[str, str, dict, bytes, float], Awaitable[wire.Reply]],
        instance_logs: Callable[[str, str], Awaitable[bytes]],
    ) -> None:
        self.store = store
        self.settings = settings
        self.host = host
        self.submit_instance = submit_instance  # (instance uuid): placement finds it a host
        self.stop_instance = (
            stop_instance  # (host, instance uuid): the node removes it and its record
        )
        self.pools: dict[str, Pool] = {}
        self.names: dict[
            tuple[str, str], str
        ] = {}  # (project, name) -> function uuid, filled on first use
        self.running: dict[str, int] = defaultdict(int)  # project -> invocations running now
        self.async_invocations = AsyncInvocations(store, self.invoke)
        self.calls = InstanceCalls(
            settings=settings,
            invoke_remote=invoke_remote,
            instance_logs=instance_logs,
            retire=self._retire,
        )
        self._metered_at = time.monotonic()
        self._rebuild()

    async def submit_async(self, inv_uuid: str) -> None:
        """Run a recorded asynchronous invocation (once, however often told)."""
        self.async_invocations.start(inv_uuid)

    # -- after a start ----------------------------------------------------
    def _rebuild(self) -> None:
        for inst in self.store.functions.list_instances():
            try:
                pool = self._pool_now(inst.function_uuid)
            except NotFound:
                pool = None
            if pool is None or inst.status in (InstanceStatus.FAILED, InstanceStatus.STOPPING):
                self._stop(inst, pool)
            elif inst.status is InstanceStatus.READY:
                pool.slots[inst.uuid] = Slot(inst, local=inst.host == self.host)
            else:
                pool.starting.add(inst.uuid)
        for inv in self.store.functions.invocations_with_status([InvocationStatus.RUNNING]):
            try:  # it was running in the previous actor: run it again
                self.store.functions.transition_invocation(
                    inv["uuid"],
                    InvocationStatus.QUEUED,
                    reason="queued again: the function actor restarted",
                )
            except ZunrayError:
                pass

    def _pool_now(self, fn_uuid: str) -> Pool:
        pool = self.pools.get(fn_uuid)
        if pool is None:
            pool = self.pools[fn_uuid] = Pool(
                self.store.functions.get_function(fn_uuid, project_id=None)
            )
        return pool

    async def _pool(self, fn_uuid: str, version: int) -> Pool:
        """The function's pool; its record read again only when it may be stale."""
        pool = self.pools.get(fn_uuid)
        if pool is None:
            return self._pool_now(fn_uuid)  # one read: a new pool carries the current record
        if pool.deleted or pool.fn.version < version:
            pool.fn = self.store.functions.get_function(fn_uuid, project_id=None)
        return pool

    # -- invocations ------------------------------------------------------
    async def invoke_named(
        self, project_id: str, name: str, payload: bytes, header: dict | None = None
    ) -> wire.Reply:
        """``invoke`` by the function's name in a project: the gateway's path (no store read when warm)."""
        fn_uuid = self.names.get((project_id, name))
        if fn_uuid is None or fn_uuid not in self.pools or self.pools[fn_uuid].deleted:
            fn = self.store.functions.get_function(name, project_id=project_id)  # NotFound: 404
            fn_uuid = self.names[(project_id, name)] = fn.uuid
            return await self.invoke(fn.uuid, fn.version, payload, header)
        return await self.invoke(fn_uuid, 0, payload, header)

    async def invoke(
        self, fn_uuid: str, version: int, payload: bytes, header: dict | None = None
    ) -> wire.Reply:
        """Run one invocation on a warm instance (starting one if none is free)."""
        pool = await self._pool(fn_uuid, version)
        project = pool.fn.project_id
        cap = self.settings.function_concurrency_per_project
        if self.running[project] >= cap:
            raise Throttled(
                f"project {project} has {cap} invocations running, its limit (function_concurrency_per_project)"
            )
        self.running[project] += 1
        pool.invocations += 1
        began = time.monotonic()
        try:
            slot = await self._acquire(pool)
            try:
                header = {
                    **(header or {}),
                    "function": pool.fn.name,
                    "version": slot.inst.version,
                    "deadline": time.time() + pool.fn.spec.timeout_s,
                }
                return await self.calls.call(pool, slot, header, payload)
            finally:
                self._release(pool, slot)
        finally:
            self.running[project] -= 1
            pool.unmetered[0] += 1
            pool.unmetered[1] += time.monotonic() - began

    async def _acquire(self, pool: Pool) -> Slot:
        slot = self._idle_slot(pool)
        if slot is not None:
            slot.inflight += 1
            pool.warm_hits += 1
            return slot
        if len(pool.waiters) >= self.settings.function_queue_max:
            raise Throttled(
                f"function {pool.fn.name} has {len(pool.waiters)} invocations waiting, the limit (function_queue_max)"
            )
        future = asyncio.get_running_loop().create_future()
        pool.waiters.append(future)
        pool.cold_starts += self._scale(pool)
        try:
            return await asyncio.wait_for(
                future, self.settings.function_start_timeout_s + pool.fn.spec.timeout_s
            )
        except TimeoutError as exc:
            raise Unavailable(f"no instance of {pool.fn.name} became free in time") from exc
        finally:
            if future in pool.waiters:
                pool.waiters.remove(future)

    def _idle_slot(self, pool: Pool) -> Slot | None:
        """The least busy current-version instance with room, if any."""
        best = None
        for slot in pool.slots.values():
            if slot.inst.version == pool.fn.version and slot.inflight < pool.fn.spec.concurrency:
                if best is None or slot.inflight < best.inflight:
                    best = slot
        return best

    def _release(self, pool: Pool, slot: Slot) -> None:
        slot.inflight -= 1
        slot.last_used = time.monotonic()
        self._wake(pool)

    def _wake(self, pool: Pool) -> None:
        while pool.waiters:
            slot = self._idle_slot(pool)
            if slot is None:
                return
            future = pool.waiters.popleft()
            if not future.done():
                slot.inflight += 1
                future.set_result(slot)

    # -- instances --------------------------------------------------------
    def _scale(self, pool: Pool) -> int:
        """Start what the sizing policy asks for; returns how many started."""
        if pool.deleted:
            return 0
        spec = pool.fn.spec
        current = sum(1 for s in pool.slots.values() if s.inst.version == pool.fn.version)
        n = instances_to_start(
            waiting=len(pool.waiters),
            starting=len(pool.starting),
            serving=current,
            concurrency=spec.concurrency,
            min_instances=spec.min_instances,
            max_instances=spec.max_instances,
        )
        for _ in range(n):
            inst = self.store.functions.create_instance(
                Instance(
                    str(uuidlib.uuid4()), pool.fn.uuid, pool.fn.project_id, pool.fn.version, spec
                )
            )
            pool.starting.add(inst.uuid)
            self.submit_instance(inst.uuid)
        return n

    async def instance_changed(self, uuid: str) -> None:
        """A node says an instance serves now, or failed."""
        try:
            inst = self.store.functions.get_instance(uuid)
        except NotFound:
            return
        pool = self.pools.get(inst.function_uuid)
        if pool is None:
            self._stop(inst, None)
            return
        pool.starting.discard(uuid)
        if inst.status is InstanceStatus.READY:
            pool.slots[uuid] = Slot(inst, local=inst.host == self.host)
            self._wake(pool)
        elif inst.status is InstanceStatus.FAILED:
            pool.slots.pop(uuid, None)
            pool.last_error = inst.status_reason
            self.store.functions.delete_instance(uuid)
            if not pool.slots and not pool.starting:  # nothing will serve them: say why
                while pool.waiters:
                    future = pool.waiters.popleft()
                    if not future.done():
                        future.set_exception(
                            FunctionFailed(
                                f"no instance of {pool.fn.name} could start: {inst.status_reason}"
                            )
                        )

    def _retire(self, pool: Pool, slot: Slot) -> None:
        pool.slots.pop(slot.inst.uuid, None)
        self._stop(slot.inst, pool)
        self._scale(pool)

    def _stop(self, inst: Instance, pool: Pool | None) -> None:
        if pool is not None:
            slot = pool.slots.pop(inst.uuid, None)
            for _, writer in slot.conns if slot else ():
                writer.close()
        if inst.host is None:
            self.store.functions.delete_instance(inst.uuid)
            return
        self.store.functions.transition_instance(
            inst.uuid, InstanceStatus.STOPPING, reason="stopping"
        )
        self.stop_instance(inst.host, inst.uuid)

    async def function_changed(self, fn_uuid: str) -> None:
        """The gateway changed or deleted a function: new version, or drain it."""
        pool = self.pools.get(fn_uuid)
        try:
            fn = self.store.functions.get_function(fn_uuid, project_id=None)
        except NotFound:
            if pool is not None:
                pool.deleted = True
                while pool.waiters:
                    future = pool.waiters.popleft()
                    if not future.done():
                        future.set_exception(NotFound(f"function {pool.fn.name} was deleted"))
            await self.tick()
            return
        if pool is None:
            pool = self.pools[fn_uuid] = Pool(fn)
        pool.fn = fn
        self._scale(pool)

    async def tick(self) -> None:
        """Every second: stop idle and outdated instances, keep min_instances, run queued async calls."""
        now = time.monotonic()
        for fn_uuid, pool in list(self.pools.items()):
            stop = instances_to_retire(
                {u: now - s.last_used for u, s in pool.slots.items() if not s.inflight},
                {u: s.inst.version for u, s in pool.slots.items()},
                version=pool.fn.version,
                deleted=pool.deleted,
                min_instances=pool.fn.spec.min_instances,
                idle_ttl_s=pool.fn.spec.idle_ttl_s,
            )
            for u in stop:
                self._stop(pool.slots[u].inst, pool)
            if pool.deleted:
                if not pool.slots and not pool.starting:
                    del self.pools[fn_uuid]
            else:
                self._scale(pool)
        self.async_invocations.pick_up()
        if time.monotonic() - self._metered_at >= self.settings.usage_interval_s:
            self._meter()

    def _meter(self) -> None:
        """Usage records of the invocations since the last ones (instances are metered by their nodes)."""
        now, self._metered_at = time.time(), time.monotonic()
        rows = []
        for pool in self.pools.values():
            count, seconds = pool.unmetered
            if count:
                rows.append(
                    usage_row(
                        project_id=pool.fn.project_id,
                        kind="function",
                        object_id=pool.fn.uuid,
                        name=pool.fn.name,
                        host=self.host,
                        runtime=pool.fn.spec.runtime,
                        resources=ZERO,
                        start=now - seconds,
                        end=now,
                        status="Invoked",
                        invocations=count,
                    )
                )
                pool.unmetered = [0, 0.0]
        self.store.usage_records.record_usage(rows)

    # -- queries ----------------------------------------------------------
    async def stats(self, fn_uuid: str) -> dict:
        pool = self.pools.get(fn_uuid)
        return pool.stats() if pool is not None else Pool.stats(Pool(fn=None))  # type: ignore[arg-type]

    async def all_stats(self) -> list[dict]:
        """Every known function's counters (for /metrics)."""
        return [
            {"function": p.fn.name, "project_id": p.fn.project_id, **p.stats()}
            for p in self.pools.values()
            if p.fn is not None
        ]

    async def ping(self) -> bool:
        return True
