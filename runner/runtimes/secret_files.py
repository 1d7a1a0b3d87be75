"""Secrets given to a container at its creation, on the node that creates it (and the stored
registry credentials that pull a job's or a function's image).

The values are read sealed from the store and opened here, just before the container is created;
they are never written to the store unsealed, nor to a log, a trace or a label. An ``env``
reference becomes an environment variable (which ``docker inspect`` on the host shows: Docker
keeps a container's environment in its configuration); a ``file`` reference becomes
``/run/secrets/<file>``, mode 0400, owned by the container's user, in a directory of the host's
tmpfs (``secret_files_dir``, never a disk) bind-mounted read-only, removed with the container.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker.errors as derr

from runner.errors import InvalidSpec, NotFound, RuntimeFailure
from runner.models import ContainerSpec, SecretRef
from runner.secrets import SecretBox
from runner.store import Store

if TYPE_CHECKING:
    from runner.runtimes.docker import DockerRuntime
    from runner.runtimes.docker_types import LongRunning

MOUNT_PATH = "/run/secrets"


@dataclass(frozen=True, slots=True)
class Given:
    """What a container's secret references resolved to, between its creation and its files."""

    env: dict[str, str]
    binds: list[str]
    files: dict[str, str]  # file name -> value
    directory: Path | None


class SecretSource:
    """Opens a project's secrets for the containers this node creates."""

    def __init__(self, store: Store, box: SecretBox, *, files_dir: Path, instance: str) -> None:
        self.store = store
        self.box = box
        self.root = files_dir / instance
        self._with_files: dict[str, str] = {}  # container id -> name, of those given files

    def resolve(self, refs: tuple[SecretRef, ...], *, project: str, container: str) -> Given:
        values: dict[str, str] = {}
        for ref in refs:
            if ref.secret not in values:
                try:
                    sealed = self.store.secrets.sealed_value(project, ref.secret)
                except NotFound:
                    raise InvalidSpec(
                        f"secret {ref.secret} no longer exists", field="secrets"
                    ) from None
                values[ref.secret] = self.box.open(sealed) or ""
        files = {r.file: values[r.secret] for r in refs if r.file}
        directory = self.root / container if files else None
        if directory is not None:
            self.remove_files(container)  # what a lost earlier run of the same name left
            directory.mkdir(mode=0o700, parents=True)
            os.chmod(self.root, 0o700)
        return Given(
            env={r.env: values[r.secret] for r in refs if r.env},
            binds=[f"{directory}:{MOUNT_PATH}:ro"] if directory else [],
            files=files,
            directory=directory,
        )

    def registry_auth(self, registry_id: str) -> tuple[dict[str, str] | None, str]:
        """(credentials, domain) of a project registry, the password opened here."""
        reg = self.store.registries.get_registry(registry_id)
        if not reg["username"]:
            return None, reg["domain"]
        password = self.box.open(reg["password"]) or ""
        return {"username": reg["username"], "password": password}, reg["domain"]

    def write_files(self, given: Given, uid: int, gid: int) -> None:
        """The files, 0400 and the directory 0500, owned by the container's user."""
        assert given.directory is not None
        for name, value in given.files.items():
            fd = os.open(
                given.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400
            )
            with os.fdopen(fd, "w") as f:
                os.fchown(f.fileno(), uid, gid)
                f.write(value)
        os.chown(given.directory, uid, gid)
        os.chmod(given.directory, 0o500)

    def remove_files(self, container: str) -> None:
        shutil.rmtree(self.root / container, ignore_errors=True)

    def created(self, cid: str, container: str) -> None:
        self._with_files[cid] = container

    def removed(self, cid: str) -> None:
        """The container is gone: so are its files."""
        name = self._with_files.pop(cid, None)
        if name is not None:
            self.remove_files(name)

    def adopt(self, api: Any) -> None:
        """After a node actor restart: know again which containers have files (so that their
        removal takes them), and remove the files of containers gone meanwhile."""
        if not self.root.is_dir():
            return
        ids = {n.lstrip("/"): c["Id"] for c in api.containers(all=True) for n in c["Names"]}
        for entry in self.root.iterdir():
            if entry.name in ids:
                self._with_files[ids[entry.name]] = entry.name
            else:
                shutil.rmtree(entry, ignore_errors=True)


def pull_auth(source: SecretSource | None, spec: ContainerSpec) -> dict[str, Any]:
    """``ensure_image``'s ``auth`` and ``registry`` for a container pulling through a stored
    registry (none without one, or on an engine without a source)."""
    if not spec.registry_id or source is None:
        return {}
    auth, domain = source.registry_auth(spec.registry_id)
    return {"auth": auth, "registry": domain}


def create_with_secrets(
    docker: DockerRuntime,
    spec: ContainerSpec,
    *,
    project: str,
    name: str,
    labels: dict[str, str],
    long_running: LongRunning,
    **options: Any,
) -> str:
    """``DockerRuntime.create`` of a container given secrets: the values opened, the environment
    and the bind of its files added, the files written once its user is known; nothing left
    behind if any step fails."""
    source = docker.secrets
    if source is None:
        raise InvalidSpec(f"secrets cannot be given on host {docker.node}", field="secrets")
    given = source.resolve(spec.secrets, project=project, container=name)
    try:
        cid = docker.create(
            replace(spec, secrets=(), env={**spec.env, **given.env}),
            name=name,
            labels=labels,
            long_running=replace(
                long_running, volumes=[*(long_running.volumes or ()), *given.binds]
            ),
            **options,
        )
    except BaseException:
        source.remove_files(name)
        raise
    if given.directory is not None:
        source.created(cid, name)
        try:
            source.write_files(given, *container_user(docker._api, cid))  # noqa: SLF001 - the same driver
        except BaseException:
            docker.remove(cid)
            raise
    return cid


def container_user(api: Any, cid: str) -> tuple[int, int]:
    """(uid, gid) a created container runs as: its ``User`` (the image's unless given), names
    looked up in the container's own /etc/passwd and /etc/group; root when none."""
    user = (api.inspect_container(cid)["Config"].get("User") or "").strip()
    if not user:
        return 0, 0
    name, _, group = user.partition(":")
    passwd = _entries(api, cid, "/etc/passwd") if not (name.isdigit() and group.isdigit()) else []
    uid, gid = None, None
    for fields in passwd:
        if fields[0] == name or fields[2] == name:
            uid, gid = int(fields[2]), int(fields[3])
            break
    if uid is None:
        if not name.isdigit():
            raise RuntimeFailure(f"user {name} is not in the image's /etc/passwd")
        uid, gid = int(name), 0
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            found = [int(f[2]) for f in _entries(api, cid, "/etc/group") if f[0] == group]
            if not found:
                raise RuntimeFailure(f"group {group} is not in the image's /etc/group")
            gid = found[0]
    return uid, gid


def _entries(api: Any, cid: str, path: str) -> list[list[str]]:
    """The colon-separated lines of a file of the container (none if it has no such file)."""
    try:
        stream, _ = api.get_archive(cid, path)
    except derr.APIError:  # NotFound too: no such file
        return []
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        data = tar.extractfile(member) if member is not None else None
        text = data.read().decode(errors="replace") if data is not None else ""
    return [line.split(":") for line in text.splitlines() if line.count(":") >= 3]
