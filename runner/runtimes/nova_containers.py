"""Zun containers with ``runtime: nova``: a Docker container on a Nova server's engine.

Its id is ``nova-<server id>.<engine's container id>``; the node actor's
registry (``runner.runtimes.registry``) sends operations on such ids here, and they run through
``ContainerOps`` on that server's engine. The server is leased from the node's
``ServerPool`` (a server of its own, or one of its project's) when the
container is created and released when it is removed. Such containers have no
network (the server is the tenant's isolation; no Neutron here).
"""

from __future__ import annotations

from typing import Any

from runner.errors import ZunrayError
from runner.models import CapsuleSpec, ContainerSpec
from runner.runtimes.docker import DockerRuntime
from runner.runtimes.docker_types import LongRunning
from runner.runtimes.docker_live import ContainerOps
from runner.runtimes.nova import PREFIX, load_images
from runner.runtimes.nova_pool import ServerPool


def split(cid: str) -> tuple[str, str]:
    """(server id, the engine's container id) of a nova container id."""
    server_id, _, engine_id = cid.removeprefix(PREFIX).partition(".")
    return server_id, engine_id


class NovaOps:
    """Zun containers on this node's Nova servers, by container id."""

    def __init__(self, pool: ServerPool, local: DockerRuntime) -> None:
        self.pool = pool
        self.local = local  # where images come from

    def create(
        self,
        uuid: str,
        project: str,
        spec: ContainerSpec,
        *,
        name: str,
        labels: dict[str, str],
        long_running: LongRunning,
    ) -> str:
        lease = self.pool.lease(project=project, holder=uuid)
        try:
            engine = self.pool.engine_for(lease.server_id)
            load_images(engine, self.local, CapsuleSpec(containers=(spec,)), project)
            engine_id = engine.create(
                spec,
                name=name,
                labels=labels,
                runtime="runc",
                network_mode="none",
                long_running=long_running,
            )
        except ZunrayError:
            self.pool.release(lease.server_id, uuid)
            raise
        return f"{PREFIX}{lease.server_id}.{engine_id}"

    def remove(self, cid: str, *, holder: str) -> None:
        """The container, then its lease on the server."""
        server_id, engine_id = split(cid)
        try:
            self.pool.engine_for(server_id).remove(engine_id)
        finally:
            self.pool.release(server_id, holder)

    def __getattr__(
        self, op: str
    ) -> Any:  # state, start, stop, logs, execute, archives, ...: as for any Docker container
        def route(cid: str, *args: Any, **kwargs: Any) -> Any:
            server_id, engine_id = split(cid)
            return getattr(ContainerOps(self.pool.engine_for(server_id)), op)(
                engine_id, *args, **kwargs
            )

        return route
