"""What operators set on hosts: disabled with a reason, forced down; placement skips both."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from pathlib import Path

from runner.store.hosts import FORCED_DOWN, HostAdmin


def test_disable_and_force_down_are_kept_apart(sqlite_store):
    hosts = sqlite_store.hosts
    assert hosts.host_admin() == {} and hosts.disabled_hosts() == {}
    hosts.set_host_forced_down("n1", True)
    hosts.set_host_enabled("n2", False, "kernel upgrade")
    assert hosts.disabled_hosts() == {"n1": FORCED_DOWN, "n2": "kernel upgrade"}
    hosts.set_host_enabled("n1", False, "disk")  # keeps the host forced down
    assert hosts.host_admin()["n1"].forced_down and not hosts.host_admin()["n1"].enabled
    hosts.set_host_forced_down("n1", False)  # still disabled: the operator's reason shows again
    assert hosts.disabled_hosts() == {"n1": "disk", "n2": "kernel upgrade"}
    hosts.set_host_enabled("n1", True)
    hosts.set_host_enabled("n2", True)
    assert hosts.disabled_hosts() == {}
    admin = hosts.host_admin()["n2"]
    assert (admin.enabled, admin.reason, admin.forced_down) == (True, "", False)
    assert admin.updated_at and HostAdmin().enabled


def test_the_migration_adds_forced_down_to_a_store_made_before_it(sqlite_store):
    cfg = Config(str(Path("runner/store/alembic.ini").resolve()))
    sqlite_store.hosts.set_host_enabled("n1", False, "old")
    with sqlite_store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    sqlite_store.migrate()
    assert sqlite_store.hosts.host_admin()["n1"] == HostAdmin(
        False, "old", False, sqlite_store.hosts.host_admin()["n1"].updated_at
    )
    sqlite_store.hosts.set_host_forced_down("n1", True)
    assert sqlite_store.hosts.disabled_hosts() == {"n1": FORCED_DOWN}
