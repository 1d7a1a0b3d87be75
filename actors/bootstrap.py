"""Spawning the actors on Ray: one PlacementActor, one NodeActor per Ray node.

This is the only module that wraps the plain actor classes with ``ray.remote``.
The wrappers build each actor's store, runtime and clients from the settings
(the only thing that crosses the process boundary) and run its timers.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors import placeables
from actors.api import ApiActor
from actors.functions import FunctionActor
from actors.node import NodeActor
from actors.placement import PlacementActor
from actors.schedules import TICK_S, ScheduleActor
from runner.runtimes.secret_files import SecretSource
from runner.secrets import SecretBox
from runner.runtimes.docker import DockerRuntime
from runner.ray_connect import API, FUNCTIONS, PLACEMENT, SCHEDULES
from runner.settings import Settings
from runner.store import Store
from runner.telemetry import setup_tracing

log = logging.getLogger(__name__)

FUNCTION_TICK_S = 1.0
RESYNC_EVERY_S = 5.0
FOLLOW_NODES_S = 3.0
CONTAINER_SYNC_S = 2.0
EGRESS_RECHECK_S = 60.0
NOVA_REAP_S = 5.0  # how often idle shared Nova servers are looked for


def node_actor_name(host: str) -> str:
    return f"node:{host}"


def host_name(ray_node: dict) -> str:
    """A readable, unique host name for a Ray node."""
    return f"{ray_node.get('NodeManagerHostname') or socket.gethostname()}-{ray_node['NodeManagerAddress']}"


def _every(period_s: float, fn, name: str) -> None:  # noqa: ANN001
    def loop() -> None:
        while True:
            time.sleep(period_s)
            try:
                fn()
            except Exception:  # a timer must survive one bad round
                log.exception("%s failed", name)

    threading.Thread(target=loop, name=name, daemon=True).start()


class RayPlacement(PlacementActor):
    """PlacementActor with its dependencies built inside the Ray worker."""

    def __init__(self, settings_json: dict) -> None:
        settings = Settings(**settings_json)
        setup_tracing(settings, "zunray-placement")
        self._namespace = settings.ray_namespace
        self._nodes: dict[str, ray.actor.ActorHandle] = {}
        super().__init__(
            store=Store(settings.store_url_resolved),
            settings=settings,
            dispatch=self._dispatch,
            cancel=self._cancel,
        )
        self._settings_json = settings_json
        self._known_nodes: set[str] = set()
        _every(0.25, self.tick, "placement-tick")
        _every(RESYNC_EVERY_S, self.resync, "placement-resync")
        _every(FOLLOW_NODES_S, self._follow_nodes, "placement-follow-nodes")

    def _follow_nodes(self) -> None:
        """Every Ray node that joins gets a NodeActor (nodes that leave stop heartbeating)."""
        self._known_nodes = ensure_node_actors(
            self._settings_json, namespace=self._namespace, known=self._known_nodes
        )

    def _node(self, host: str) -> ray.actor.ActorHandle:
        handle = self._nodes.get(host)
        if handle is None:
            handle = self._nodes[host] = ray.get_actor(
                node_actor_name(host), namespace=self._namespace
            )
        return handle

    def _cancel(self, host: str, job_id: str) -> None:
        self._node(host).cancel.remote(job_id)

    def _dispatch(self, kind: str, host: str, record) -> None:  # noqa: ANN001
        handle = self._node(host)
        method = {
            placeables.JOB: handle.run,
            placeables.CONTAINER: handle.create_container,
            placeables.CAPSULE: handle.create_capsule,
            placeables.INSTANCE: handle.start_instance,
        }[kind]
        method.remote(record)


class RayNode(NodeActor):
    """NodeActor with its dependencies built inside the Ray worker on its node."""

    def __init__(self, settings_json: dict, name: str) -> None:
        settings = Settings(**settings_json)
        setup_tracing(settings, "zunray-node")
        placement = ray.get_actor(PLACEMENT, namespace=settings.ray_namespace)
        store = Store(settings.store_url_resolved)
        runtime = DockerRuntime(
            url=settings.docker_url,
            instance=settings.instance,
            node=name,
            timeout_s=settings.docker_timeout_s,
            log_max_bytes=settings.log_max_bytes,
            allowed_registries=settings.allowed_registries,
            pulls=store.images,
            secrets=SecretSource(
                store,
                SecretBox(settings),
                files_dir=settings.secret_files_dir,
                instance=settings.instance,
            ),
        )

        def instance_changed(uuid: str) -> None:
            try:
                ray.get_actor(FUNCTIONS, namespace=settings.ray_namespace).instance_changed.remote(
                    uuid
                )
            except (
                ValueError
            ):  # no function actor (yet): a starting one reads its instances from the store
                log.info("instance %s changed before the function actor exists", uuid)

        super().__init__(
            name=name,
            store=store,
            runtime=runtime,
            settings=settings,
            finished=lambda obj_id, kind="job": placement.finished.remote(obj_id, kind, name),
            instance_changed=instance_changed,
            host_addresses=lambda: [n["NodeManagerAddress"] for n in ray.nodes() if n.get("Alive")],
        )
        self.start()
        placement.heartbeat.remote(self.report())
        _every(
            settings.host_heartbeat_s,
            lambda: placement.heartbeat.remote(self.report()),
            "node-heartbeat",
        )
        _every(CONTAINER_SYNC_S, self.containers.sync, "node-container-sync")
        _every(CONTAINER_SYNC_S, self.capsules.sync, "node-capsule-sync")
        _every(CONTAINER_SYNC_S, self.jobs.fence, "node-fence")
        _every(CONTAINER_SYNC_S, self.shells.reap, "node-shell-reap")
        _every(
            EGRESS_RECHECK_S, self.recheck_networks, "node-egress"
        )  # hosts that joined; rules a firewall reload dropped
        _every(
            CONTAINER_SYNC_S, self.isolation.spread_shared_cpus, "node-cpu-spread"
        )  # catches a shared container created while a pin began
        if settings.nova_url:
            _every(NOVA_REAP_S, self.nova.reap, "node-nova-reap")
        if settings.usage_metering:
            _every(settings.usage_interval_s, self.metering.meter, "node-metering")


class RaySchedules(ScheduleActor):
    """ScheduleActor with its store and clients built inside the Ray worker."""

    def __init__(self, settings_json: dict) -> None:
        settings = Settings(**settings_json)
        setup_tracing(settings, "zunray-schedules")
        namespace = settings.ray_namespace

        def cancel(job) -> None:  # noqa: ANN001
            ray.get_actor(node_actor_name(job.host), namespace=namespace).cancel.remote(job.id)

        super().__init__(
            store=Store(settings.store_url_resolved),
            submit=lambda job_id: ray.get_actor(PLACEMENT, namespace=namespace).submit.remote(
                job_id
            ),
            cancel=cancel,
        )
        _every(TICK_S, self.tick, "schedules-tick")

    def ping(self) -> bool:
        return True


class RayFunctions(FunctionActor):
    """FunctionActor with its store and clients built inside the Ray worker."""

    def __init__(self, settings_json: dict) -> None:
        settings = Settings(**settings_json)
        setup_tracing(settings, "zunray-functions")
        namespace = settings.ray_namespace
        me = ray.get_runtime_context()
        node = next(n for n in ray.nodes() if n["NodeID"] == me.get_node_id())

        def node_actor(host: str) -> ray.actor.ActorHandle:
            return ray.get_actor(node_actor_name(host), namespace=namespace)

        def stop_instance(host: str, uuid: str) -> None:
            try:
                node_actor(host).stop_instance.remote(uuid)
            except (
                ValueError
            ):  # no node actor there (yet): a starting one ends the instances left STOPPING
                log.info("instance %s stays STOPPING until the node actor of %s starts", uuid, host)

        super().__init__(
            store=Store(settings.store_url_resolved),
            settings=settings,
            host=host_name(node),
            submit_instance=lambda uuid: ray.get_actor(
                PLACEMENT, namespace=namespace
            ).submit.remote(uuid, kind=placeables.INSTANCE),
            stop_instance=stop_instance,
            invoke_remote=lambda host, uuid, header, payload, timeout_s: node_actor(
                host
            ).invoke_instance.remote(uuid, header, payload, timeout_s),
            instance_logs=lambda host, uuid: node_actor(host).instance_logs.remote(uuid),
        )
        handle = me.current_actor
        _every(FUNCTION_TICK_S, lambda: handle.tick.remote(), "functions-tick")


class RayApi(ApiActor):
    """ApiActor with its store and clients built inside the Ray worker."""

    def __init__(self, settings_json: dict) -> None:
        settings = Settings(**settings_json)
        namespace = settings.ray_namespace

        def actor(name: str) -> ray.actor.ActorHandle:
            return ray.get_actor(name, namespace=namespace)

        super().__init__(
            store=Store(settings.store_url_resolved),
            settings=settings,
            place=lambda job_id: actor(PLACEMENT).submit.remote(job_id),
            signal_cancel=lambda host, job_id: actor(node_actor_name(host)).cancel.remote(job_id),
            node_logs=lambda host, job_id: ray.get(
                actor(node_actor_name(host)).logs.remote(job_id), timeout=30
            ),
            run_async=lambda inv_id: actor(FUNCTIONS).submit_async.remote(inv_id),
        )


def ensure_actors(settings: Settings) -> ray.actor.ActorHandle:
    """Create (or find) the placement actor and a node actor on every live node.

    Needs a connected Ray driver. Idempotent: existing actors are reused.
    """
    settings_json = settings.model_dump(mode="json")
    placement = (
        ray.remote(RayPlacement)
        .options(
            name=PLACEMENT,
            namespace=settings.ray_namespace,
            lifetime="detached",
            get_if_exists=True,
            max_restarts=-1,
            max_concurrency=32,
            num_cpus=0,
        )
        .remote(settings_json)
    )
    ray.get(placement.health.remote())
    ensure_node_actors(settings_json, namespace=settings.ray_namespace)
    schedules = (
        ray.remote(RaySchedules)
        .options(
            name=SCHEDULES,
            namespace=settings.ray_namespace,
            lifetime="detached",
            get_if_exists=True,
            max_restarts=-1,
            max_concurrency=4,
            num_cpus=0,
        )
        .remote(settings_json)
    )
    ray.get(schedules.ping.remote())
    functions = (
        ray.remote(RayFunctions)
        .options(
            name=FUNCTIONS,
            namespace=settings.ray_namespace,
            lifetime="detached",
            get_if_exists=True,
            max_restarts=-1,
            max_concurrency=1000,
            num_cpus=0,
            # on the gateway's node: a warm call to a local instance is one Ray hop and a unix socket
            scheduling_strategy=NodeAffinitySchedulingStrategy(
                node_id=ray.get_runtime_context().get_node_id(), soft=True
            ),
        )
        .remote(settings_json)
    )
    ray.get(functions.ping.remote())
    api = (
        ray.remote(RayApi)
        .options(
            name=API,
            namespace=settings.ray_namespace,
            lifetime="detached",
            get_if_exists=True,
            max_restarts=-1,
            max_concurrency=32,
            num_cpus=0,
        )
        .remote(settings_json)
    )
    ray.get(api.ping.remote())
    return placement


def ensure_node_actors(
    settings_json: dict, *, namespace: str, known: set[str] | None = None
) -> set[str]:
    """A NodeActor on every live Ray node (pinned to it); returns the node ids seen.

    ``known`` node ids are skipped without asking Ray about their actor.
    """
    seen: set[str] = set()
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        seen.add(node["NodeID"])
        if known is not None and node["NodeID"] in known:
            continue
        name = host_name(node)
        ray.remote(RayNode).options(
            name=node_actor_name(name),
            namespace=namespace,
            lifetime="detached",
            get_if_exists=True,
            max_restarts=-1,
            max_concurrency=64,
            num_cpus=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node["NodeID"], soft=False),
        ).remote(settings_json, name)
        log.info("node actor for %s ensured", name)
    return seen
