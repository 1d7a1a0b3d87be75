"""Liveness and readiness: ``GET /healthz`` says what works and, if not, why.

Anyone may ask whether Zunray works (``status``); which hosts there are and
what is wrong with them is the cloud's inventory, shown only to callers that
pass ``host:get_all`` (a token is optional on this route).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.cluster import HEALTH_EVERY_S
from gateway.context import permitted
from gateway.errors import retry_after
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
    heard = cluster.health is not None and bool(cluster.health["hosts"])
    if cluster.health is not None and not heard:
        problems.append("no hosts registered yet")
    # starting: no host has reported yet (`zunray up` waits for anything else)
    status = "ok" if not problems else ("unavailable" if heard else "starting")
    body = {"status": status}
    if permitted(request, "host:get_all"):
        body |= {"problems": problems, "cluster": cluster.health}
    if not problems:
        return JSONResponse(body)
    # the health report is refreshed this often: asking again sooner tells nothing new
    return JSONResponse(body, status_code=503, headers={"Retry-After": retry_after(HEALTH_EVERY_S)})
