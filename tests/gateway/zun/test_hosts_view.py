"""Zun's host view from a node's report: its labels and the disk of its engine's data root."""

from __future__ import annotations

from actors.placement_hosts import HostState
from gateway.zun.hosts import host_view
from policies.table import HostTable
from runner.settings import Settings

REPORT = {
    "cpus": 4,
    "memory_mb": 8192,
    "runtimes": ["runc"],
    "docker_ok": True,
    "labels": {"zone": "az-2", "rack": "r7"},
    "disk_total_gb": 250,
    "disk_used_gb": 31,
}


def test_a_host_shows_its_node_labels_and_its_data_root_disk():
    state = HostState(name="node-a", cpu_total=0, memory_mb=0, runtimes=[])
    state.apply(REPORT, now=1.0)
    table = HostTable()
    state.upsert_into(table, Settings(), pending_pins=0)
    view = host_view(state.health(table, disabled={}), "http://api")
    assert view["labels"] == {"zone": "az-2", "rack": "r7"}
    assert (view["disk_total"], view["disk_used"]) == (250, 31)
    assert view["hostname"] == "node-a" and view["links"][0]["href"].startswith(
        "http://api/v1/hosts/"
    )


def test_a_host_that_has_not_reported_its_disk_shows_none():
    view = host_view(
        {
            "name": "n",
            "memory_mb": 1,
            "memory_used_mb": 0,
            "cpus": 1,
            "cpu_used": 0,
            "runtimes": ["runc"],
        },
        "http://api",
    )
    assert (view["disk_total"], view["disk_used"], view["labels"]) == (0, 0, {})
