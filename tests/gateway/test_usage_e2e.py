"""Usage metering end to end: records written by the node actors (every second in
the test stack), exported as Parquet, Arrow and JSON; nothing lost across a node
actor restart; bad queries refused."""

from __future__ import annotations

import io
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.ray, pytest.mark.timeout(300)]

ZUN = {"OpenStack-API-Version": "container 1.40"}


def _rows(zunray, **params) -> list[dict]:  # noqa: ANN003
    resp = zunray.http.get(
        "/v1/usage", params={"format": "json", "start": time.time() - 3600, **params}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["usage"]


def test_a_job_gets_a_final_record_with_its_outcome_in_every_format(zunray):
    job = zunray.submit(
        command=["sh", "-c", "sleep 1.5; exit 3"],
        resources={"cpu": 0.5, "memory_mb": 64},
        name="metered",
    )
    assert zunray.wait(job["id"])["status"] == "Failed"
    rows = [r for r in _rows(zunray) if r["object_id"] == job["id"]]
    final = [r for r in rows if r["status"] != "Running"]
    assert [(r["status"], r["exit_code"], r["kind"], r["name"]) for r in final] == [
        ("Failed", 3, "job", "metered")
    ]
    wall = sum(r["wall_s"] for r in rows)
    assert 1.4 <= wall <= 5.0
    assert sum(r["cpu_s"] for r in rows) == pytest.approx(0.5 * wall) and sum(
        r["memory_mb_s"] for r in rows
    ) == pytest.approx(64 * wall)
    parquet = zunray.http.get(
        "/v1/usage", params={"format": "parquet", "start": time.time() - 3600}
    )
    table = pq.read_table(io.BytesIO(parquet.content))
    assert job["id"] in table.column("object_id").to_pylist()
    assert table.schema.field("ended_at").type == pa.timestamp("ms", tz="UTC")
    arrow = zunray.http.get("/v1/usage", params={"format": "arrow", "start": time.time() - 3600})
    assert pa.ipc.open_stream(arrow.content).read_all().num_rows == table.num_rows


def test_a_running_container_is_metered_without_gaps_across_a_node_actor_restart(
    zunray, ray_driver
):
    import ray

    from actors.bootstrap import node_actor_name

    c = zunray.http.post(
        "/v1/containers?run=true",
        json={"image": "busybox:latest", "command": ["sleep", "300"], "cpu": 0.25, "memory": 32},
        headers=ZUN,
    ).json()
    try:
        deadline = time.monotonic() + 30
        while len(rows := [r for r in _rows(zunray) if r["object_id"] == c["uuid"]]) < 2:
            assert time.monotonic() < deadline, rows
            time.sleep(0.5)
        host = rows[0]["host"]
        ray.kill(
            ray.get_actor(node_actor_name(host), namespace=zunray.settings.ray_namespace),
            no_restart=False,
        )
        deadline = (
            time.monotonic() + 20
        )  # a node actor takes about 4 s to come back on 2 cores, then meters every second
        while (
            len(
                rows := sorted(
                    (r for r in _rows(zunray) if r["object_id"] == c["uuid"]),
                    key=lambda r: r["started_at"],
                )
            )
            < 4
        ):
            assert time.monotonic() < deadline, rows
            time.sleep(0.5)
        gaps = [b["started_at"] - a["ended_at"] for a, b in zip(rows, rows[1:])]
        assert len(rows) >= 4 and all(abs(g) < 1e-6 for g in gaps), (
            gaps
        )  # one after the other: no gap, no overlap
        assert all(r["kind"] == "container" and r["cpus"] == 0.25 for r in rows)
    finally:
        zunray.http.delete(f"/v1/containers/{c['uuid']}", params={"force": "True"}, headers=ZUN)


def test_a_stopped_container_is_metered_up_to_its_stop_and_not_after(zunray):
    c = zunray.http.post(
        "/v1/containers?run=true",
        json={"image": "busybox:latest", "command": ["sleep", "300"], "cpu": 0.5, "memory": 32},
        headers=ZUN,
    ).json()
    try:
        zunray.container_until(c["uuid"], "Running")
        time.sleep(1.5)  # a record or two while it runs
        assert zunray.http.post(f"/v1/containers/{c['uuid']}/kill", headers=ZUN).status_code == 202
        zunray.container_until(c["uuid"], "Stopped")
        stopped_at = time.time()
        time.sleep(2.5)  # two metering ticks: nothing more for a stopped container
        rows = sorted(
            (r for r in _rows(zunray) if r["object_id"] == c["uuid"]), key=lambda r: r["started_at"]
        )
        assert rows[-1]["status"] == "Stopped" and rows[-1]["exit_code"] == 137, rows[
            -1
        ]  # its last stretch, up to the kill
        assert rows[-1]["ended_at"] <= stopped_at
        gaps = [b["started_at"] - a["ended_at"] for a, b in zip(rows, rows[1:])]
        assert all(abs(g) < 1e-6 for g in gaps), gaps
    finally:
        zunray.delete_container(c["uuid"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param(
            {"start": "2026-11-02", "end": "2026-11-01"},
            "end must be after start",
            id="end-before-start",
        ),
        pytest.param(
            {"start": "2025-01-01", "end": "2026-01-01"},
            "over the maximum of 92 days",
            id="range-too-long",
        ),
        pytest.param(
            {"format": "csv"},
            "unknown format 'csv'; formats: ['arrow', 'json', 'parquet']",
            id="unknown-format",
        ),
        pytest.param({"start": "yesterday"}, "not a time", id="bad-time"),
    ],
)
def test_bad_usage_queries_are_400_naming_the_problem(zunray, params, field):
    resp = zunray.http.get("/v1/usage", params=params)
    assert resp.status_code == 400 and field in resp.json()["errors"][0]["detail"], resp.text


def test_cli_exports_parquet_and_top_prints_hosts(zunray, monkeypatch, capsys, tmp_path):
    from runner.cli.main import main as cli_main

    for key, value in zunray.settings.to_env().items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "usage.parquet"
    assert cli_main(["usage", "export", "--out", str(out), "--start", str(time.time() - 3600)]) == 0
    assert pq.read_table(out).num_rows >= 1
    assert cli_main(["top", "--once"]) == 0
    screen = capsys.readouterr().out
    assert "HOST" in screen and "127.0.0.2" in screen
