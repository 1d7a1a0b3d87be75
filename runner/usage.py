"""Usage records and their export as Arrow, Parquet or JSON.

A record is one interval of one capsule (or, for a function, the invocations
of one interval). Its Parquet/Arrow schema, column by column:

| column | type | meaning |
|---|---|---|
| project_id | string | the Keystone project billed |
| kind | string | job, container, capsule, instance (a warm function instance) or function (its invocations) |
| object_id | string | the job, container, capsule, instance or function uuid |
| name | string | its name (an instance: its function's uuid) |
| host | string | where it ran |
| runtime | string | runc or runsc |
| started_at, ended_at | timestamp[ms, UTC] | the interval |
| wall_s | float64 | seconds in the interval (a function: seconds spent in its invocations) |
| cpus, memory_mb | float64 | allocated |
| cpu_s, memory_mb_s | float64 | cpus x wall_s, memory_mb x wall_s |
| invocations | int64 | function invocations in the interval |
| exit_code | int32, null | how a job attempt ended |
| status | string | Running (an interval), or Succeeded, Failed, TimedOut, Cancelled, Deleted, Stopped, Invoked |
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from runner.errors import InvalidSpec
from runner.models import Resources

SCHEMA = pa.schema(
    [
        ("project_id", pa.string()),
        ("kind", pa.string()),
        ("object_id", pa.string()),
        ("name", pa.string()),
        ("host", pa.string()),
        ("runtime", pa.string()),
        ("started_at", pa.timestamp("ms", tz="UTC")),
        ("ended_at", pa.timestamp("ms", tz="UTC")),
        ("wall_s", pa.float64()),
        ("cpus", pa.float64()),
        ("memory_mb", pa.float64()),
        ("cpu_s", pa.float64()),
        ("memory_mb_s", pa.float64()),
        ("invocations", pa.int64()),
        ("exit_code", pa.int32()),
        ("status", pa.string()),
    ]
)
FORMATS = {
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.stream",
    "json": "application/json",
}


def usage_row(
    *,
    project_id: str,
    kind: str,
    object_id: str,
    name: str,
    host: str,
    runtime: str,
    resources: Resources,
    start: float,
    end: float,
    status: str = "Running",
    exit_code: int | None = None,
    invocations: int = 0,
) -> dict:
    """One usage record for [start, end), with allocation-based cpu and memory seconds."""
    wall = max(0.0, end - start)
    return {
        "project_id": project_id,
        "kind": kind,
        "object_id": object_id,
        "name": name,
        "host": host,
        "runtime": runtime,
        "started_at": start,
        "ended_at": end,
        "wall_s": wall,
        "cpus": resources.cpu,
        "memory_mb": float(resources.memory_mb),
        "cpu_s": resources.cpu * wall,
        "memory_mb_s": resources.memory_mb * wall,
        "invocations": invocations,
        "exit_code": exit_code,
        "status": status,
    }


def to_table(columns: dict[str, list]) -> pa.Table:
    """Store columns (epoch seconds for times) as an Arrow table of ``SCHEMA``."""
    data = dict(columns)
    for ts in ("started_at", "ended_at"):
        data[ts] = pa.array([round(t * 1000) for t in data[ts]], type=pa.int64()).cast(
            pa.timestamp("ms", tz="UTC")
        )
    return pa.Table.from_pydict(data, schema=SCHEMA)


def export(columns: dict[str, list], fmt: str) -> tuple[bytes, str]:
    """The records in ``fmt`` (parquet, arrow or json); (body, media type)."""
    if fmt not in FORMATS:
        raise InvalidSpec(f"unknown format {fmt!r}; formats: {sorted(FORMATS)}", field="format")
    if fmt == "json":
        rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
        return json.dumps({"usage": rows}).encode(), FORMATS[fmt]
    table = to_table(columns)
    buf = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, buf, compression="zstd")
    else:
        with pa.ipc.new_stream(buf, table.schema) as writer:
            writer.write_table(table)
    return buf.getvalue(), FORMATS[fmt]
