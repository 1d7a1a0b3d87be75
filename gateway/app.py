"""The FastAPI application: wiring of store, cluster, routes and error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from gateway import errors, metrics, noauth, series, tracing
from gateway.access_log import AccessLog
from gateway.auth import Authenticate, KeystoneAuth
from gateway.cluster import Cluster
from runner.batching import Batched
from gateway.content_type import RequireJson
from gateway.zun.action_params import ZunActionParams
from gateway.limits import BodyLimit
from gateway.login_throttle import LoginThrottle
from gateway.request_id import RequestId
from gateway.routes import dashboard, functions, health, hosts, jobs, schedules, secrets, usage
from gateway.zun import capsules as zun_capsules
from gateway.zun import container_actions as zun_container_actions
from gateway.zun import containers as zun_containers
from gateway.zun import hosts as zun_hosts
from gateway.zun import interactive as zun_interactive
from gateway.zun import quotas as zun_quotas
from gateway.zun import registries as zun_registries
from gateway.zun import resize as zun_resize
from gateway.zun import services as zun_services
from gateway.zun import zones as zun_zones
from gateway.zun import root as zun_root
from gateway.watch import StoreWatcher
from policies.access import rules_with
from runner.private_files import secure_data_dir
from runner.secrets import SecretBox
from runner.settings import Settings
from runner.store import Store
from runner.telemetry import flush_tracing, setup_tracing


def access_rules(path: Path | None) -> dict[str, str]:
    """The access rules: policies/access.py's defaults, overridden by the operator's JSON file."""
    return rules_with(None if path is None else json.loads(path.read_text()), source=str(path))


def create_app(settings: Settings) -> FastAPI:
    noauth.check_bind(
        settings
    )  # before anything listens: noauth stays on this machine unless allowed

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_tracing(settings, "zunray-gateway")
        await asyncio.to_thread(secure_data_dir, settings)
        store = Store(settings.store_url_resolved)
        await asyncio.to_thread(store.migrate)
        cluster = Cluster(settings)
        await asyncio.to_thread(cluster.connect)
        app.state.store, app.state.cluster, app.state.settings = store, cluster, settings
        # submissions that arrive together commit together (each 202 only once committed)
        app.state.job_commits = Batched(store.jobs.create_jobs, name="job-commits")
        app.state.secrets = SecretBox(settings)
        app.state.rules = access_rules(settings.policy_file)
        app.state.followers = (
            Counter()
        )  # project -> open `logs?follow=true` streams (max_log_followers_per_project)
        app.state.auth = KeystoneAuth(settings) if settings.auth_mode == "keystone" else None
        app.state.logins = LoginThrottle(settings)
        watcher = app.state.watcher = StoreWatcher(store)
        watcher.start()
        poller = asyncio.create_task(cluster.follow_health())
        app.state.series = series.SeriesRing(samples=settings.dashboard_samples)
        sampling = series.sample_forever(
            app.state.series, cluster, every_s=settings.dashboard_sample_s
        )
        sampler = asyncio.create_task(sampling)
        yield
        poller.cancel()
        sampler.cancel()
        await watcher.stop()
        if app.state.auth is not None:
            await app.state.auth.close()
        store.close()
        await asyncio.to_thread(flush_tracing)

    # FastAPI (0.165 here) has telemetry of its own; it stands aside when it finds OpenTelemetry's ASGI middleware in the
    # stack (gateway/tracing.py), whose server span costs less per request (0.4 ms against 0.65 ms recorded, measured)
    app = FastAPI(
        title="Zunray",
        version="0.1.0",
        lifespan=lifespan,
        description="Jobs, functions and Zun containers on Ray",
    )

    errors.install(app)
    # outermost last: the request id (so that every answer, 413 and 401 too, carries it), the access log, the body
    # limit, then auth; the request's server span wraps them all
    app.add_middleware(ZunActionParams)
    app.add_middleware(RequireJson)
    app.add_middleware(Authenticate, settings=settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(AccessLog)
    app.add_middleware(RequestId)
    tracing.instrument(app)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(schedules.router)
    app.include_router(secrets.router)
    app.include_router(functions.router)
    app.include_router(hosts.router)
    app.include_router(usage.router)
    app.include_router(metrics.router)
    app.include_router(dashboard.router)
    app.include_router(zun_root.router)
    app.include_router(zun_containers.router)
    app.include_router(zun_container_actions.router)  # the same prefix: its routes come after
    app.include_router(zun_interactive.router)
    app.include_router(zun_interactive.ws_router)
    app.include_router(zun_resize.router)
    app.include_router(zun_hosts.router)
    app.include_router(zun_capsules.router)
    app.include_router(zun_quotas.router)
    app.include_router(zun_registries.router)
    app.include_router(zun_services.router)
    app.include_router(zun_zones.router)
    return app
