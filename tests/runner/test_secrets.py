"""Sealing and key rotation of stored values, over a real SQLite store (no Ray, no Docker)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from runner.errors import Conflict, NotFound, OverQuota
from runner.secret_rotation import rotate_key
from runner.secrets import SecretBox, key_file
from runner.settings import Settings
from runner.store.schema import registries


def _settings(tmp_path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", **kw)


def _registry(store, box, password: str) -> None:
    store.registries.create_registry(
        {
            "uuid": "00000000-0000-4000-8000-000000000001",
            "name": "r",
            "domain": "127.0.0.1:5000",
            "username": "u",
            "password": box.seal(password),
            "project_id": "p1",
            "user_id": "u1",
        }
    )


def test_a_sealed_value_opens_and_is_not_the_value(tmp_path):
    box = SecretBox(_settings(tmp_path))
    sealed = box.seal("hunter2")
    assert "hunter2" not in sealed
    assert box.open(sealed) == "hunter2"
    assert oct(key_file(_settings(tmp_path)).stat().st_mode & 0o777) == "0o600"


def test_rotation_reseals_secrets_and_registry_passwords_and_drops_the_old_key(
    tmp_path, sqlite_store
):
    settings = _settings(tmp_path)
    box = SecretBox(settings)
    old_key = box.keys[0]
    sqlite_store.secrets.create_secret(
        project_id="p1", user_id="u1", name="db", sealed=box.seal("s3cret"), max_per_project=10
    )
    _registry(sqlite_store, box, "regpass")

    done = rotate_key(sqlite_store, settings)

    assert (done.resealed, done.keys_dropped) == (2, 1)
    keys = key_file(settings).read_text().split()
    assert len(keys) == 1 and keys[0].encode() != old_key
    fresh = SecretBox(settings)  # a process started after the rotation knows only the new key
    assert fresh.open(sqlite_store.secrets.sealed_value("p1", "db")) == "s3cret"
    with sqlite_store._read() as conn:
        password = conn.execute(registries.select()).one().password
    assert fresh.open(password) == "regpass"
    old_only = Fernet(old_key)
    with pytest.raises(Exception):
        old_only.decrypt(sqlite_store.secrets.sealed_value("p1", "db").encode())
    assert box.open(sqlite_store.secrets.sealed_value("p1", "db")) == "s3cret"  # followed the file


def test_rotation_with_the_setting_reseals_with_the_first_key(tmp_path, sqlite_store):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = SecretBox(_settings(tmp_path, secret_key=old))
    sqlite_store.secrets.create_secret(
        project_id="p1", user_id="u1", name="db", sealed=before.seal("v"), max_per_project=10
    )
    done = rotate_key(sqlite_store, _settings(tmp_path, secret_key=f"{new},{old}"))
    assert (done.resealed, done.keys_dropped, done.from_file) == (1, 0, False)
    after = SecretBox(_settings(tmp_path, secret_key=new))  # the operator dropped the old key
    assert after.open(sqlite_store.secrets.sealed_value("p1", "db")) == "v"


def test_names_are_per_project_bounded_and_deletion_refused_while_referenced(sqlite_store):
    s = sqlite_store.secrets
    s.create_secret(project_id="p1", user_id="u", name="db", sealed="x", max_per_project=2)
    with pytest.raises(Conflict):
        s.create_secret(project_id="p1", user_id="u", name="db", sealed="x", max_per_project=2)
    s.create_secret(project_id="p2", user_id="u", name="db", sealed="y", max_per_project=2)
    s.create_secret(project_id="p1", user_id="u", name="tls", sealed="x", max_per_project=2)
    with pytest.raises(OverQuota):
        s.create_secret(project_id="p1", user_id="u", name="c", sealed="x", max_per_project=2)
    assert "value" not in s.get_secret("p1", "db")
    with pytest.raises(NotFound):
        s.get_secret("p3", "db")
    sqlite_store.schedules.create_schedule(
        {
            "uuid": "00000000-0000-4000-8000-000000000002",
            "project_id": "p1",
            "user_id": "u",
            "name": "nightly",
            "cron": "0 0 * * *",
            "time_zone": "UTC",
            "job": {"image": "busybox", "secrets": [{"secret": "db", "env": "DB"}]},
            "concurrency_policy": "Allow",
            "starting_deadline_s": None,
            "successful_history_limit": 1,
            "failed_history_limit": 1,
            "suspend": False,
        }
    )
    with pytest.raises(Conflict, match="schedule"):
        s.delete_secret("p1", "db")
    s.delete_secret("p2", "db")  # the same name in another project is not referenced
    s.delete_secret("p1", "tls")
    assert [x["name"] for x in s.list_secrets("p1")] == ["db"]


def test_the_cli_rotates_the_key_of_the_configured_store(tmp_path, monkeypatch, capsys):
    from runner.cli.main import main
    from runner.store import Store

    settings = _settings(tmp_path)
    store = Store(settings.store_url_resolved)
    store.migrate()
    store.secrets.create_secret(
        project_id="p1",
        user_id="u",
        name="db",
        sealed=SecretBox(settings).seal("v"),
        max_per_project=10,
    )
    before = key_file(settings).read_text()
    monkeypatch.setenv("ZUNRAY_DATA_DIR", str(settings.data_dir))
    assert main(["secrets", "rotate-key"]) == 0
    assert "re-sealed 1 values" in capsys.readouterr().out
    assert key_file(settings).read_text() != before
    assert SecretBox(settings).open(store.secrets.sealed_value("p1", "db")) == "v"
    store.close()
