"""The gateway's view of the Ray side: placement and node actors by name.

Holds the last health report of the placement actor (refreshed in the
background) so that a submission can be refused with 503 when no host has a
working Docker engine, without a round trip per request.
"""

from __future__ import annotations

import asyncio
import logging

import ray

from actors.bootstrap import ensure_actors, node_actor_name
from policies.zone import zones
from runner.ray_connect import FUNCTIONS, PLACEMENT, connect
from runner.batching import Batched
from runner.demand import host_memory_mb
from runner.errors import InvalidSpec, Unavailable, ZunrayError
from runner.settings import Settings

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 1.0
CALL_TIMEOUT_S = 5.0


class Cluster:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.health: dict | None = None
        self.health_error: str = "not checked yet"
        self._placement = None
        self._functions = None
        self._nodes: dict[str, ray.actor.ActorHandle] = {}
        # what was committed while the last call went out goes in the next one
        self._to_place: Batched[tuple[str, str], None] = Batched(
            self._tell_placement, name="placement-notify"
        )

    def connect(self) -> None:
        connect(self.settings)
        self._placement = ensure_actors(self.settings)

    @property
    def placement(self) -> ray.actor.ActorHandle:
        if self._placement is None:
            self._placement = ray.get_actor(PLACEMENT, namespace=self.settings.ray_namespace)
        return self._placement

    @property
    def functions(self) -> ray.actor.ActorHandle:
        if self._functions is None:
            self._functions = ray.get_actor(FUNCTIONS, namespace=self.settings.ray_namespace)
        return self._functions

    def node(self, host: str) -> ray.actor.ActorHandle:
        handle = self._nodes.get(host)
        if handle is None:
            try:
                handle = self._nodes[host] = ray.get_actor(
                    node_actor_name(host), namespace=self.settings.ray_namespace
                )
            except ValueError as exc:
                raise Unavailable(f"host {host} has no node actor") from exc
        return handle

    def submit(self, obj_id: str, *, kind: str = "job") -> None:
        """Tell placement of a committed job (container, ...): fire and forget, the store has it."""
        self._to_place.send((kind, obj_id))

    def _tell_placement(self, batch: list[tuple[str, str]]) -> None:
        by_kind: dict[str, list[str]] = {}
        for kind, obj_id in batch:
            by_kind.setdefault(kind, []).append(obj_id)
        for kind, ids in by_kind.items():
            self.placement.submit.remote(*ids, kind=kind)

    async def call(self, ref: ray.ObjectRef, *, timeout_s: float = CALL_TIMEOUT_S):  # noqa: ANN201
        """Await an actor call; the actor's own ZunrayError comes back as itself."""
        try:
            return await asyncio.wait_for(ref, timeout_s)
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, ZunrayError):
                raise exc.cause from None
            raise Unavailable(f"cluster call failed: {exc}") from exc
        except (asyncio.TimeoutError, ray.exceptions.GetTimeoutError) as exc:
            raise Unavailable(
                f"the cluster did not answer within {timeout_s:g} s; the operation may still complete"
            ) from exc
        except ray.exceptions.RayError as exc:
            raise Unavailable(f"cluster call failed: {exc}") from exc

    def docker_down_reason(self) -> str | None:
        """Why no host can run containers now, or None when one can."""
        if self.health is None:
            return None  # not known yet: accept, the store keeps the job
        hosts = [h for h in self.health["hosts"] if h["up"]]
        if not hosts:
            return None if not self.health["hosts"] else "no host is up"
        if any(h["docker_ok"] for h in hosts):
            return None
        return "Docker engine unreachable on every host: " + "; ".join(
            f"{h['name']}: {h['docker_error']}" for h in hosts
        )

    def largest_host_memory_mb(self) -> float | None:
        if not self.health or not self.health["hosts"]:
            return None
        return (
            max(h["memory_mb"] for h in self.health["hosts"])
            * self.settings.memory_allocation_ratio
        )

    def admit(self, memory_mb: float, *, runtime: str, field: str) -> None:
        """Refuse new work now: 503 when no host can run containers, 400 when no host has the memory
        that placement would reserve (``runner.demand.host_memory_mb``: a VM's overhead, nothing on Nova)."""
        if down := self.docker_down_reason():
            raise Unavailable(down)
        largest = self.largest_host_memory_mb()
        on_host = host_memory_mb(memory_mb, runtime)
        if largest is not None and on_host > largest:
            extra = f" ({on_host - memory_mb:g} MB more for the VM)" if on_host > memory_mb else ""
            raise InvalidSpec(
                f"{memory_mb:g} MB{extra} is more than the largest host has ({largest:g} MB)",
                field=field,
            )

    def require_host(self, name: str | None) -> None:
        """400 when a request names a host the cluster does not have (None: no host asked)."""
        if name is None or self.health is None:
            return
        known = sorted(h["name"] for h in self.health["hosts"])
        if name not in known:
            raise InvalidSpec(f"host {name} does not exist; hosts: {known}", field="host")

    def zones(self) -> list[str]:
        """The availability zones of the hosts placement knows (their node label ``zone``)."""
        return zones(h.get("labels") for h in (self.health or {"hosts": []})["hosts"])

    def require_zone(self, zone: str | None, *, field: str) -> None:
        """400 when a request asks for an availability zone no host is in (None: any zone)."""
        if zone is None or self.health is None:
            return
        if zone not in (known := self.zones()):
            raise InvalidSpec(
                f"availability zone {zone} does not exist; zones: {known}", field=field
            )

    async def follow_health(self) -> None:
        """Background task: refresh the placement actor's health report."""
        while True:
            try:
                self.health = await self.call(self.placement.health.remote())
                self.health_error = ""
            except Exception as exc:  # keep polling whatever happened
                self.health_error = str(exc)
                self._placement = None
            await asyncio.sleep(HEALTH_EVERY_S)
