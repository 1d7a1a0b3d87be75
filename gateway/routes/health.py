"""Liveness and readiness: ``GET /healthz`` says what works and, if not, why."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from runner.errors import Unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Is Zunray able to run containers?")
async def healthz(request: Request) -> JSONResponse:
    cluster = request.app.state.cluster
    problems: list[str] = []
    try:
        await asyncio.to_thread(request.app.state.store.ping)
    except Unavailable as exc:
        problems.append(exc.message)
    if cluster.health_error:
        problems.append(f"placement actor: {cluster.health_error}")
    down = cluster.docker_down_reason()
    if down:
        problems.append(down)
    if cluster.health is not None and not cluster.health["hosts"]:
        problems.append("no hosts registered yet")
    body = {"status": "ok" if not problems else "unavailable", "problems": problems, "cluster": cluster.health}
    return JSONResponse(body, status_code=200 if not problems else 503)
