"""The Docker runtime: create, start, wait, logs, kill and remove containers.

Docker errors are translated here into ``runner.errors``. Every container gets
the labels of ``labels_for``, cpu/memory/pids limits, bounded json-file logs and
no network unless one is asked for. ``runtime="runsc"`` runs it under gVisor
(the ``runsc-nonet`` Docker runtime: gVisor with its network stack disabled).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import docker
import requests
from docker import errors as derr

from runner.errors import ImageUnavailable, InvalidSpec, NotFound, RuntimeFailure, Unavailable
from runner.models import ContainerSpec, PullPolicy
from runner.runtimes.bounded import keep_last
from runner.runtimes.docker_pulls import ImagePulls, PullRecords, explain, named
from runner.runtimes.docker_types import LongRunning, ManagedContainer
from runner.runtimes.secret_files import SecretSource, create_with_secrets, pull_auth

LABEL = "zunray"  # label prefix: zunray.instance, zunray.uuid, ...
MIN_API_VERSION = "1.41"  # Debian 12's docker.io 20.10
STREAMS_POOL_SIZE = (
    256  # output streams (attach) held open at once without a "pool is full" warning each
)

#: Zunray runtime name -> Docker runtime name, for containers without network
_DOCKER_RUNTIMES = {"runc": None, "runsc": "runsc-nonet"}


class DockerRuntime:
    """One Docker engine, as seen by one node."""

    def __init__(
        self,
        *,
        url: str,
        instance: str,
        node: str,
        timeout_s: float = 60.0,
        log_max_bytes: int = 1 << 20,
        tls: docker.tls.TLSConfig | None = None,
        allowed_registries: tuple[str, ...] = (),
        pulls: PullRecords | None = None,
        secrets: SecretSource | None = None,
    ) -> None:
        self.instance = instance
        self.secrets = secrets  # opens the secrets containers are given; None: none on this engine
        self.node = node
        self.log_max_bytes = log_max_bytes
        self.created: dict[
            str, int
        ] = {}  # runtime -> containers created since this process started (metrics)
        self._url, self._tls = url, tls
        if tls:  # the oldest API we support: "auto" would ask the engine before the line below takes effect
            self._api = docker.APIClient(
                base_url=url, timeout=timeout_s, version=MIN_API_VERSION, tls=tls
            )
            self._api.trust_env = False  # the CA given, not REQUESTS_CA_BUNDLE: requests lets that variable override a session's own CA
        else:
            try:
                self._api = docker.APIClient(base_url=url, timeout=timeout_s, version="auto")
            except derr.DockerException:  # engine down now: talk the oldest API we support
                self._api = docker.APIClient(
                    base_url=url, timeout=timeout_s, version=MIN_API_VERSION
                )
        self.images = ImagePulls(
            self._api, node=node, allowed_registries=allowed_registries, pulls=pulls
        )

    # -- engine -----------------------------------------------------------
    def ping(self) -> None:
        try:
            self._api.ping()
        except (requests.exceptions.RequestException, derr.DockerException) as exc:
            raise Unavailable(f"Docker engine unreachable: {exc}") from exc

    def inventory(self) -> dict[str, Any]:
        """cpus, memory and the runtimes this engine offers."""
        try:
            info = self._api.info()
        except (requests.exceptions.RequestException, derr.DockerException) as exc:
            raise Unavailable(f"Docker engine unreachable: {exc}") from exc
        engine_runtimes = set(info.get("Runtimes", {}))
        runtimes = ["runc"] + (["runsc"] if "runsc-nonet" in engine_runtimes else [])
        return {
            "cpus": int(info.get("NCPU", 1)),
            "memory_mb": int(info.get("MemTotal", 0)) // (1 << 20),
            "runtimes": runtimes,
            "docker_version": info.get("ServerVersion", ""),
            "data_root": info.get("DockerRootDir", ""),  # where images and layers live (disk)
        }

    # -- images -----------------------------------------------------------
    def ensure_image(
        self,
        image: str,
        policy: PullPolicy,
        *,
        auth: dict[str, str] | None = None,
        registry: str = "",
        project: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Make ``image`` present locally according to ``policy`` (a pull tells ``progress`` how far it got).

        Images seen present are remembered for ``IMAGE_CACHE_S``; if one
        vanished meanwhile, ``create`` notices and comes back here. For
        ``project``, an image that another project pulled with its registry's
        credentials counts as absent: this project pulls it itself, with its
        own credentials (``auth``) or none, and the registry decides.
        """
        self.images.ensure(
            image, policy, auth=auth, registry=registry, project=project, progress=progress
        )

    def image_present(self, image: str) -> bool:
        return self.images.present(named(image))

    def saw_present(self, image: str) -> None:
        """Remember ``image`` as present (loaded or tagged here) for ``IMAGE_CACHE_S``."""
        self.images.saw_present(image)

    # -- containers -------------------------------------------------------
    def labels_for(
        self, *, uuid: str, project: str, capsule: str, name: str, role: str
    ) -> dict[str, str]:
        return {
            f"{LABEL}.instance": self.instance,
            f"{LABEL}.uuid": uuid,
            f"{LABEL}.project": project,
            f"{LABEL}.capsule": capsule,
            f"{LABEL}.node": self.node,
            f"{LABEL}.container": name,
            f"{LABEL}.role": role,
        }

    def create(
        self,
        spec: ContainerSpec,
        *,
        name: str,
        labels: dict[str, str],
        runtime: str = "runc",
        network_mode: str = "none",
        long_running: LongRunning | None = None,
    ) -> str:
        """Create (not start) a container; returns its id. Its secrets are opened here, not
        before (``runner.runtimes.secret_files``)."""
        if spec.secrets:
            return create_with_secrets(
                self,
                spec,
                project=labels.get(f"{LABEL}.project", ""),
                name=name,
                labels=labels,
                runtime=runtime,
                network_mode=network_mode,
                long_running=long_running or LongRunning(),
            )
        lr = long_running or LongRunning()
        if runtime not in _DOCKER_RUNTIMES:
            raise InvalidSpec(
                f"unknown runtime {runtime!r}; known: {sorted(_DOCKER_RUNTIMES)}", field="runtime"
            )
        if (
            runtime == "runsc"
            and network_mode not in ("none",)
            and not network_mode.startswith("container:")
        ):
            raise InvalidSpec("runtime runsc runs without a network on this host", field="network")
        res = spec.resources
        host_config = self._api.create_host_config(
            nano_cpus=int(res.cpu * 1e9),
            mem_limit=f"{res.memory_mb}m",
            memswap_limit=f"{res.memory_mb}m",  # no swap beyond the limit
            pids_limit=res.pids,
            network_mode=network_mode,
            runtime=_DOCKER_RUNTIMES[runtime],
            init=True,  # a real PID 1 forwards signals and reaps zombies
            security_opt=["no-new-privileges:true"],
            log_config={
                "type": "json-file",
                "config": {"max-size": str(self.log_max_bytes), "max-file": "2"},
            },
            restart_policy=lr.restart_policy,
            auto_remove=lr.auto_remove,
            privileged=lr.privileged,
            binds=lr.volumes or None,  # huge pages too: the node binds the capsule's own hugetlbfs
            cpuset_cpus=lr.cpuset_cpus,
            cpuset_mems=lr.cpuset_mems,
            cap_add=list(spec.capabilities) or None,
            sysctls=dict(spec.sysctls) or None,
        )
        kwargs = dict(
            image=named(spec.image),
            command=list(spec.command) or None,
            name=name,
            environment=dict(spec.env),
            working_dir=spec.workdir,
            labels={**(lr.user_labels or {}), **labels},
            host_config=host_config,
            network_disabled=network_mode == "none",
            entrypoint=lr.entrypoint,
            hostname=lr.hostname,
            tty=lr.tty,
            stdin_open=lr.interactive,
            healthcheck=lr.healthcheck,
        )
        try:
            try:
                created = self._api.create_container(**kwargs)
            except derr.ImageNotFound:
                self.images.forget(named(spec.image))  # removed since we looked: look again
                project = labels.get(f"{LABEL}.project")
                self.ensure_image(
                    spec.image, spec.pull_policy, project=project, **pull_auth(self.secrets, spec)
                )
                created = self._api.create_container(**kwargs)
        except derr.ImageNotFound as exc:
            raise ImageUnavailable(
                f"image {spec.image} is not present on host {self.node}"
            ) from exc
        except derr.APIError as exc:
            raise RuntimeFailure(f"cannot create container: {explain(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise Unavailable(f"Docker engine unreachable: {exc}") from exc
        self.created[runtime] = self.created.get(runtime, 0) + 1
        return created["Id"]

    def start(self, cid: str) -> None:
        self._call("start", cid)

    def wait(self, cid: str, timeout_s: float | None) -> int | None:
        """The exit code, or None if ``timeout_s`` passed first."""
        try:
            result = self._api.wait(cid, timeout=timeout_s)
        except requests.exceptions.ReadTimeout:
            return None
        except requests.exceptions.ConnectionError as exc:
            # urllib3 reports a read timeout on a streamed response this way
            if "timed out" in str(exc).lower():
                return None
            raise Unavailable(f"Docker engine unreachable: {exc}") from exc
        except derr.NotFound as exc:
            raise NotFound(f"container {cid[:12]} is gone") from exc
        return int(result.get("StatusCode", -1))

    def oom_killed(self, cid: str) -> bool:
        state = self._call("inspect_container", cid).get("State", {})
        return bool(state.get("OOMKilled"))

    def kill(self, cid: str) -> None:
        """SIGKILL the container (its whole process tree); absent is fine."""
        try:
            self._api.kill(cid)
        except derr.NotFound:
            pass
        except derr.APIError as exc:
            if exc.status_code != 409:  # 409: not running
                raise RuntimeFailure(f"cannot kill {cid[:12]}: {explain(exc)}") from exc

    def logs(self, cid: str) -> bytes:
        """stdout and stderr, interleaved as written: their last ``log_max_bytes``, streamed
        (a container started with other log options may have kept far more)."""
        return keep_last(
            self._call("logs", cid, stdout=True, stderr=True, stream=True, follow=False),
            self.log_max_bytes,
        )[0]

    def attach_output(self, cid: str, *, past: bool = False) -> Iterator[bytes]:
        """stdout and stderr as the container writes them, until it stops; attached when this returns.

        Attached before the start, this is all the output, in order: unlike following the log
        file, which loses and reorders parts of long lines when the file rotates. ``past``
        (a container found after a restart, maybe stopped since): what the log file still
        has, then on, by following it. The stream ends quietly if the container goes away.
        """
        if past:
            return iter(
                self._call(
                    "logs",
                    cid,
                    stdout=True,
                    stderr=True,
                    stream=True,
                    follow=True,
                    _api=self._streams,
                )
            )
        return iter(
            self._call("attach", cid, stdout=True, stderr=True, stream=True, _api=self._streams)
        )

    @functools.cached_property
    def _streams(self) -> docker.APIClient:
        """A client without a read timeout, for output streams: a job may be quiet for longer than ``timeout_s``."""
        # one connection per running job's container, held while it runs: a pool that keeps them all
        api = docker.APIClient(
            base_url=self._url,
            timeout=None,
            version=self._api.api_version,
            tls=self._tls,
            max_pool_size=STREAMS_POOL_SIZE,
        )
        api.trust_env = not self._tls  # as for _api
        return api

    def update_cpuset(self, cid: str, cpus: str) -> None:
        """Move a container (running or not) to other cpus."""
        self._call("update_container", cid, cpuset_cpus=cpus)

    def remove(self, cid: str) -> None:
        try:
            self._api.remove_container(cid, force=True, v=True)
        except derr.NotFound:
            pass
        except derr.APIError as exc:
            if exc.status_code != 409:  # 409: removal already in progress
                raise RuntimeFailure(f"cannot remove {cid[:12]}: {explain(exc)}") from exc
        if self.secrets is not None:
            self.secrets.removed(cid)

    def adopt_secret_files(self) -> None:
        """After a restart: the secret files of existing containers known again, others removed."""
        if self.secrets is not None:
            self.secrets.adopt(self._api)

    def create_volume(self, name: str, *, labels: dict[str, str]) -> None:
        self._call("create_volume", name=name, driver="local", labels=labels)

    def remove_volume(self, name: str) -> None:
        try:
            self._api.remove_volume(name, force=True)
        except derr.NotFound:
            pass
        except derr.APIError as exc:
            raise RuntimeFailure(f"cannot remove volume {name}: {explain(exc)}") from exc

    def managed(self, **label_filters: str) -> list[ManagedContainer]:
        """Containers of this instance (and node), filtered by label values."""
        wanted = [f"{LABEL}.instance={self.instance}"] + [
            f"{LABEL}.{k}={v}" for k, v in label_filters.items()
        ]
        found = self._call("containers", all=True, filters={"label": wanted})
        out = []
        for c in found:
            state = c.get("State", "")
            exit_code = None
            if state == "exited":
                exit_code = int(self._call("inspect_container", c["Id"])["State"]["ExitCode"])
            out.append(
                ManagedContainer(
                    id=c["Id"], labels=c.get("Labels") or {}, state=state, exit_code=exit_code
                )
            )
        return out

    def _call(
        self, method: str, *args: Any, _api: docker.APIClient | None = None, **kwargs: Any
    ) -> Any:
        """``method`` of the engine's API (``_api``: another client of it), its errors translated."""
        try:
            return getattr(_api or self._api, method)(*args, **kwargs)
        except derr.NotFound as exc:
            raise NotFound(f"container not found: {explain(exc)}") from exc
        except derr.APIError as exc:
            raise RuntimeFailure(f"docker {method} failed: {explain(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise Unavailable(f"Docker engine unreachable: {exc}") from exc
