"""GET /metrics in Prometheus' text format, gathered from the actors at scrape time.

Families (Prometheus naming: base units, ``_total`` for counters):
  zunray_queue_depth{project}                         capsules waiting for a host
  zunray_capsules_placed{project}                     capsules holding a host (starting, running, ending)
  zunray_placement_latency_seconds (histogram)        from taken in to placed
  zunray_placement_decisions_total                    filter/score rounds run
  zunray_containers_created_total{host,runtime}       containers created (by node actor lifetime)
  zunray_function_cold_starts_total{project,function} instances started for waiting calls
  zunray_function_warm_hits_total{project,function}   calls served by an idle warm instance
  zunray_function_instances{project,function}         warm instances now
  zunray_function_queue_length{project,function}      calls waiting for an instance
  zunray_host_cpu_allocated_cores{host}, zunray_host_cpu_cores{host}
  zunray_host_memory_allocated_bytes{host}, zunray_host_memory_bytes{host}
  zunray_host_up{host}
  zunray_store_latency_seconds (histogram)            the gateway's store round trips
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from gateway.context import enforce
from runner.errors import ZunrayError

router = APIRouter(tags=["operations"])
MIB = 1 << 20

STORE_LATENCY = Histogram(
    "zunray_store_latency_seconds",
    "Round trip of a store query from the gateway",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0),
    registry=None,
)


class _Snapshot:
    """A collector over what the actors answered for this one scrape."""

    def __init__(self, placement: dict, health: dict, functions: list[dict]) -> None:
        self.placement, self.health, self.functions = placement, health, functions

    def collect(self):  # noqa: ANN201 - prometheus_client's collector protocol
        queued = GaugeMetricFamily(
            "zunray_queue_depth", "Capsules waiting for a host", labels=["project"]
        )
        for project, n in sorted(self.placement.get("queued", {}).items()):
            queued.add_metric([project], n)
        yield queued
        placed = GaugeMetricFamily(
            "zunray_capsules_placed", "Capsules holding a host", labels=["project"]
        )
        for project, n in sorted(self.placement.get("placed", {}).items()):
            placed.add_metric([project], n)
        yield placed
        lat = self.placement.get("latency", {"buckets": [], "sum": 0.0})
        cumulative, buckets = 0, []
        for bound, count in lat["buckets"]:
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        yield HistogramMetricFamily(
            "zunray_placement_latency_seconds",
            "From taken in by placement to placed",
            buckets=buckets,
            sum_value=lat["sum"],
        )
        yield CounterMetricFamily(
            "zunray_placement_decisions",
            "Placement decisions computed",
            value=self.placement.get("decisions", 0),
        )
        created = CounterMetricFamily(
            "zunray_containers_created",
            "Containers created, by runtime",
            labels=["host", "runtime"],
        )
        for host, by_runtime in sorted(self.placement.get("containers_created", {}).items()):
            for runtime, n in sorted(by_runtime.items()):
                created.add_metric([host, runtime], n)
        yield created
        fams = {
            "cold": CounterMetricFamily(
                "zunray_function_cold_starts",
                "Instances started for waiting calls",
                labels=["project", "function"],
            ),
            "warm": CounterMetricFamily(
                "zunray_function_warm_hits",
                "Calls served by an idle warm instance",
                labels=["project", "function"],
            ),
            "inst": GaugeMetricFamily(
                "zunray_function_instances", "Warm instances", labels=["project", "function"]
            ),
            "queue": GaugeMetricFamily(
                "zunray_function_queue_length",
                "Calls waiting for an instance",
                labels=["project", "function"],
            ),
        }
        for f in self.functions:
            key = [f["project_id"], f["function"]]
            fams["cold"].add_metric(key, f["cold_starts"])
            fams["warm"].add_metric(key, f["warm_hits"])
            fams["inst"].add_metric(key, f["instances"])
            fams["queue"].add_metric(key, f["queue_length"])
        yield from fams.values()
        hosts = {
            "cpu_alloc": GaugeMetricFamily(
                "zunray_host_cpu_allocated_cores",
                "Cpus promised to placed capsules",
                labels=["host"],
            ),
            "cpu": GaugeMetricFamily("zunray_host_cpu_cores", "Cpus of the host", labels=["host"]),
            "mem_alloc": GaugeMetricFamily(
                "zunray_host_memory_allocated_bytes",
                "Memory promised to placed capsules",
                labels=["host"],
            ),
            "mem": GaugeMetricFamily(
                "zunray_host_memory_bytes", "Memory of the host", labels=["host"]
            ),
            "up": GaugeMetricFamily(
                "zunray_host_up",
                "1 when the host is up, its engine answers and it is enabled",
                labels=["host"],
            ),
        }
        for h in self.health.get("hosts", []):
            hosts["cpu_alloc"].add_metric([h["name"]], h["cpu_used"])
            hosts["cpu"].add_metric([h["name"]], h["cpus"])
            hosts["mem_alloc"].add_metric([h["name"]], h["memory_used_mb"] * MIB)
            hosts["mem"].add_metric([h["name"]], h["memory_mb"] * MIB)
            hosts["up"].add_metric(
                [h["name"]], float(h["up"] and h["docker_ok"] and h.get("enabled", True))
            )
        yield from hosts.values()


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=True)
async def metrics(request: Request) -> Response:
    enforce(request, "metrics:get")
    cluster = request.app.state.cluster
    store = request.app.state.store
    t0 = time.perf_counter()
    store.ping()
    STORE_LATENCY.observe(time.perf_counter() - t0)
    try:
        placement = await cluster.call(cluster.placement.metrics.remote())
        functions = await cluster.call(cluster.functions.all_stats.remote())
    except ZunrayError:
        placement, functions = {}, []
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(placement, cluster.health or {}, functions))
    registry.register(STORE_LATENCY)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
