"""Containers on Nova servers from a configured image and flavor, run by each
server's own container engine.

``NovaServers`` is the openstacksdk boundary (errors become ``runner.errors``
here). Servers are named ``zunray-<instance>-<project>-<capsule>`` (or
``...-shared`` for a server of a project's capsules, see ``nova_pool``) and
carry metadata (``zunray.instance``, ``zunray.project``, ``zunray.capsule``,
``zunray.scope``, ``zunray.node``) so that leftovers are findable and a
restarted node actor takes back or deletes its own. The server's image must
run a Docker engine on ``nova_engine_port`` of its first IPv4 address (TLS with
``nova_engine_cert_path``, else plain TCP on a tenant-private network). ``NovaRun``
has the job part of ``CapsuleRun``'s interface.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import openstack
from keystoneauth1 import noauth, session
from keystoneauth1.exceptions import ClientException
from openstack import exceptions as os_exc

from runner.capsule_run import CapsuleRun
from runner.errors import RuntimeFailure, Unavailable
from runner.log_tail import LogTail
from runner.models import CapsuleSpec
from runner.runtimes import docker_images
from runner.runtimes.docker import DockerRuntime
from runner.settings import Settings

if TYPE_CHECKING:
    from runner.runtimes.nova_pool import ServerPool

ACTIVE_POLL_S = 0.5
PREFIX = "nova-"  # a container's id on a Nova server: nova-<server id>.<id on its engine>


class Server(NamedTuple):
    """A server this node made, as Nova lists it."""

    id: str
    project: str
    capsule_id: str  # "" for a shared server
    shared: bool
    url: str  # its engine ("" while it has no address)


def load_images(
    engine: DockerRuntime,
    local: DockerRuntime,
    spec: CapsuleSpec,
    project: str,
    progress: Callable[[str], None] | None = None,
) -> None:
    """The capsule's images into a server's engine from the host's (the server reaches no registry either)."""
    for c in (*spec.init_containers, *spec.containers):
        if not engine.image_present(c.image):
            local.ensure_image(c.image, c.pull_policy, project=project, progress=progress)
            docker_images.load_image(
                engine,
                docker_images.save(local, c.image),
                tag_as=c.image if ":" in c.image.rsplit("/", 1)[-1] else f"{c.image}:latest",
            )


class NovaServers:
    """Servers for capsules, through one Nova endpoint."""

    def __init__(self, settings: Settings, *, node: str) -> None:
        self.settings = settings
        self.node = node
        if (
            settings.keystone_url and settings.keystone_service_password
        ):  # a real cloud: the gateway's service user
            self._conn = openstack.connection.Connection(
                auth_url=settings.keystone_url,
                username=settings.keystone_service_user,
                password=settings.keystone_service_password,
                project_name=settings.keystone_service_project,
                user_domain_id=settings.keystone_domain,
                project_domain_id=settings.keystone_domain,
                compute_endpoint_override=settings.nova_url,
            )
        else:  # an endpoint without Keystone (a lab, the tests' stand-in)
            self._conn = openstack.connection.Connection(
                session=session.Session(auth=noauth.NoAuth()),
                compute_endpoint_override=settings.nova_url,
                compute_api_version="2",
            )

    def prefix(self) -> str:
        return f"zunray-{self.settings.instance}-"

    def create(self, *, project: str, capsule_id: str | None) -> tuple[str, str]:
        """A server for one capsule, or (``capsule_id`` None) for the project's; ACTIVE. (server id, its engine URL)."""
        s = self.settings
        meta = {
            "zunray.instance": s.instance,
            "zunray.project": project,
            "zunray.capsule": capsule_id or "",
            "zunray.scope": "project" if capsule_id is None else "capsule",
            "zunray.node": self.node,
        }
        try:
            server = self._conn.compute.create_server(
                name=f"{self.prefix()}{project[:16]}-{capsule_id[:8] if capsule_id else 'shared'}",
                image_id=s.nova_image,
                flavor_id=s.nova_flavor,
                metadata=meta,
            )
            try:
                server = self._conn.compute.wait_for_server(
                    server,
                    status="ACTIVE",
                    failures=["ERROR"],
                    interval=ACTIVE_POLL_S,
                    wait=s.nova_active_timeout_s,
                )
            except os_exc.ResourceFailure as exc:
                self.delete(server.id)
                raise RuntimeFailure(
                    f"Nova server {server.id} went to ERROR instead of ACTIVE (image {s.nova_image}, flavor {s.nova_flavor})"
                ) from exc
            except os_exc.ResourceTimeout as exc:
                self.delete(server.id)
                raise RuntimeFailure(
                    f"Nova server {server.id} was not ACTIVE after {s.nova_active_timeout_s:g} s"
                ) from exc
        except (os_exc.SDKException, ClientException) as exc:
            raise Unavailable(f"Nova at {s.nova_url} failed: {exc}") from exc
        url = self._engine_url(server)
        if not url:
            self.delete(server.id)
            raise RuntimeFailure(
                f"Nova server {server.id} has no IPv4 address to reach its engine on"
            )
        return server.id, url

    def _engine_url(self, server) -> str:  # noqa: ANN001 - an openstacksdk Server
        addrs = [
            a["addr"]
            for net in (server.addresses or {}).values()
            for a in net
            if a.get("version") == 4
        ]
        return f"tcp://{addrs[0]}:{self.settings.nova_engine_port}" if addrs else ""

    def delete(self, server_id: str) -> None:
        try:
            self._conn.compute.delete_server(server_id, ignore_missing=True)
        except (os_exc.SDKException, ClientException) as exc:
            raise Unavailable(f"cannot delete Nova server {server_id}: {exc}") from exc

    def mine(self) -> list[Server]:
        """The servers this node made (leftovers are among them)."""
        try:
            servers = list(self._conn.compute.servers(details=True, name=self.prefix()))
        except (os_exc.SDKException, ClientException) as exc:
            raise Unavailable(f"Nova at {self.settings.nova_url} failed: {exc}") from exc
        return [
            Server(
                id=s.id,
                project=meta.get("zunray.project", ""),
                capsule_id=meta.get("zunray.capsule", ""),
                shared=meta.get("zunray.scope") == "project",
                url=self._engine_url(s),
            )
            for s in servers
            if (meta := s.metadata or {}).get("zunray.node") == self.node
        ]


class NovaRun:
    """One capsule on a Nova server's engine (its own server, or its project's: ``ServerPool``)."""

    def __init__(
        self,
        pool: ServerPool,
        local: DockerRuntime,
        *,
        capsule_id: str,
        project: str,
        spec: CapsuleSpec,
        attempt: int = 0,
    ) -> None:
        self.pool = pool
        self.local = local
        self.capsule_id = capsule_id
        self.project = project
        self.spec = dataclasses.replace(spec, runtime="runc")  # runc on the server's engine
        self.attempt = attempt
        self.cpuset: tuple[str | None, str | None] = (None, None)
        self.server_id: str | None = None
        self._run: CapsuleRun | None = None
        self.output: LogTail | None = None  # set (jobs): handed to the capsule's run on the server
        self.progress: Callable[[str], None] = lambda _: None  # set (jobs): how far the start got

    @property
    def containers(self) -> list[tuple[str, str, str]]:
        """(role, name, id on the server's engine), as ``CapsuleRun.containers``."""
        return self._run.containers if self._run is not None else []

    def start(self, *, deadline: float | None = None, **options: Any) -> bool:
        """Lease a server, load the images, start the capsule there (``options`` as for ``CapsuleRun.start``)."""
        self.server_id = self.pool.lease(project=self.project, holder=self.capsule_id).server_id
        engine = self.pool.engine_for(self.server_id)
        self._run = CapsuleRun(
            engine,
            capsule_id=self.capsule_id,
            project=self.project,
            spec=self.spec,
            attempt=self.attempt,
        )
        self._run.output, self._run.progress = self.output, self.progress
        load_images(engine, self.local, self.spec, self.project, self.progress)
        return self._run.start(deadline=deadline, **options)

    def wait(self, *, deadline: float | None = None) -> int | None:
        assert self._run is not None
        return self._run.wait(deadline=deadline)

    def logs(self) -> bytes:
        return self._run.logs() if self._run is not None else b""

    def drain_output(self, timeout_s: float = 5.0) -> None:
        if self._run is not None:
            self._run.drain_output(timeout_s)

    def oom_killed(self) -> bool:
        return self._run.oom_killed() if self._run is not None else False

    def kill(self) -> None:
        if self._run is not None:
            self._run.kill()

    def remove(self) -> None:
        """The capsule's containers, then its lease on the server."""
        try:
            if self._run is not None:
                self._run.remove()
        finally:
            if self.server_id is not None:
                self.pool.release(self.server_id, self.capsule_id)

    def app_ids(self) -> list[str]:
        return self._run.app_ids() if self._run is not None else []

    def member_ids(self) -> dict[str, str]:
        """name -> id as a Zun capsule shows its members: ``nova-<server>.<id on its engine>``."""
        return {name: f"{PREFIX}{self.server_id}.{cid}" for _, name, cid in self.containers}
