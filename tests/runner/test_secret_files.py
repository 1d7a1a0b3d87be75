"""A node's secret files and the user that owns them, over a real store and a Docker API stand-in
(no Docker): modes, owner, removal with the container, and the sweep after a restart."""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from runner.errors import InvalidSpec, RuntimeFailure
from runner.models import SecretRef
from runner.runtimes.secret_files import SecretSource, container_user
from runner.secrets import SecretBox
from runner.settings import Settings


class FakeApi:
    """What ``container_user`` and ``SecretSource.adopt`` ask of Docker's API."""

    def __init__(self, user: str = "", files: dict[str, str] | None = None, names=()) -> None:
        self.user, self.files, self.names = user, files or {}, names

    def inspect_container(self, cid: str) -> dict:
        return {"Config": {"User": self.user}}

    def get_archive(self, cid: str, path: str):
        import docker.errors

        if path not in self.files:
            raise docker.errors.NotFound("no such file")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            data = self.files[path].encode()
            info = tarfile.TarInfo(os.path.basename(path))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return [buf.getvalue()], {}

    def containers(self, all: bool) -> list[dict]:  # noqa: A002 - Docker's own parameter name
        return [{"Id": f"id-{n}", "Names": [f"/{n}"]} for n in self.names]


@pytest.fixture
def source(tmp_path, sqlite_store):
    settings = Settings(data_dir=tmp_path / "data")
    box = SecretBox(settings)
    for name, value in (("db", "pw"), ("tls", "-----CERT-----")):
        sqlite_store.secrets.create_secret(
            project_id="p1", user_id="u", name=name, sealed=box.seal(value), max_per_project=10
        )
    return SecretSource(sqlite_store, box, files_dir=tmp_path / "shm", instance="i1")


REFS = (SecretRef("db", env="DB"), SecretRef("tls", file="tls.pem"))


def test_env_and_files_for_the_containers_user_removed_with_it(source):
    given = source.resolve(REFS, project="p1", container="c1")
    assert given.env == {"DB": "pw"} and given.binds == [f"{given.directory}:/run/secrets:ro"]
    source.created("cid-1", "c1")
    source.write_files(given, 1234, 1235)
    f = given.directory / "tls.pem"
    assert f.read_text() == "-----CERT-----"
    st = f.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o400, 1234, 1235)
    assert stat.S_IMODE(given.directory.stat().st_mode) == 0o500
    source.removed("cid-1")
    assert not given.directory.exists()


def test_another_projects_or_a_deleted_secret_is_refused(source):
    with pytest.raises(InvalidSpec, match="no longer exists"):
        source.resolve(REFS, project="p2", container="c2")


def test_after_a_restart_files_of_gone_containers_go_and_the_others_are_known_again(source):
    for name in ("kept", "gone"):
        source.write_files(source.resolve(REFS, project="p1", container=name), 0, 0)
    fresh = SecretSource(source.store, source.box, files_dir=source.root.parent, instance="i1")
    fresh.adopt(FakeApi(names=["kept"]))
    assert sorted(p.name for p in fresh.root.iterdir()) == ["kept"]
    fresh.removed("id-kept")
    assert not (fresh.root / "kept").exists()


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param("", (0, 0), id="none-is-root"),
        pytest.param("1234:1235", (1234, 1235), id="numeric"),
        pytest.param("app", (1000, 1001), id="name-from-passwd"),
        pytest.param("1000:staff", (1000, 50), id="uid-and-group-name"),
        pytest.param("4321", (4321, 0), id="uid-not-in-passwd"),
    ],
)
def test_the_owner_is_the_containers_user(user, expected):
    files = {"/etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"}
    files["/etc/group"] = "root:x:0:\nstaff:x:50:\n"
    assert container_user(FakeApi(user, files), "cid") == expected


def test_an_unknown_user_name_is_refused():
    with pytest.raises(RuntimeFailure, match="nobody"):
        container_user(FakeApi("nobody", {"/etc/passwd": "root:x:0:0::/:/bin/sh\n"}), "cid")
