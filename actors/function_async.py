"""Asynchronous invocations: the FunctionActor's service that runs what the store queued.

The actor holds one ``AsyncInvocations``, given the store and its own ``invoke``. An invocation recorded Queued (by the gateway or the
SDK) runs once however often the actor is told of it; queued ones nobody told it
about are picked up every tick; a throttled one goes back to Queued; the outcome
(result, the handler's error, a timeout) is written back to the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from runner.errors import (
    FunctionFailed,
    FunctionTimedOut,
    InvalidTransition,
    NotFound,
    Throttled,
    ZunrayError,
)
from runner.functions.model import InvocationStatus
from runner.store import Store

log = logging.getLogger(__name__)

ASYNC_BATCH = 100  # queued asynchronous invocations picked up per tick


class AsyncInvocations:
    def __init__(self, store: Store, invoke: Callable[..., Awaitable[Any]]) -> None:
        self.store = store
        self.invoke = invoke  # the actor's synchronous invoke: (function uuid, version, payload, context) -> reply
        self._async: set[str] = set()  # asynchronous invocations in progress here
        self._tasks: set[asyncio.Task] = set()

    def pick_up(self) -> None:
        """The store is the truth: queued invocations nobody told us about run too."""
        for inv in self.store.functions.invocations_with_status(
            [InvocationStatus.QUEUED], limit=ASYNC_BATCH
        ):
            self.start(inv["uuid"])

    def start(self, inv_uuid: str) -> None:
        """Run a recorded asynchronous invocation (once, however often told)."""
        if inv_uuid in self._async:
            return
        self._async.add(inv_uuid)
        task = asyncio.get_running_loop().create_task(self._run(inv_uuid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, inv_uuid: str) -> None:
        try:
            inv = self.store.functions.get_invocation(inv_uuid)
            if inv["status"] != InvocationStatus.QUEUED.value:
                return
            fn = self.store.functions.get_function(inv["function_uuid"], project_id=None)
            self.store.functions.transition_invocation(
                inv_uuid, InvocationStatus.RUNNING, reason="running", started_at=time.time()
            )
            try:
                reply = await self.invoke(
                    fn.uuid, fn.version, inv["payload"], {"invocation_id": inv_uuid}
                )
            except Throttled as exc:
                self.store.functions.transition_invocation(
                    inv_uuid, InvocationStatus.QUEUED, reason=f"waiting: {exc.message}"
                )
                return
            except FunctionTimedOut as exc:
                self.store.functions.transition_invocation(
                    inv_uuid,
                    InvocationStatus.TIMED_OUT,
                    reason=exc.message,
                    finished_at=time.time(),
                )
                return
            except ZunrayError as exc:
                error = exc.error if isinstance(exc, FunctionFailed) else None
                self.store.functions.transition_invocation(
                    inv_uuid,
                    InvocationStatus.FAILED,
                    reason=exc.message,
                    error=error,
                    finished_at=time.time(),
                )
                return
            self.store.functions.transition_invocation(
                inv_uuid,
                InvocationStatus.SUCCEEDED,
                reason="returned",
                result=reply.body,
                result_kind=reply.kind,
                finished_at=time.time(),
            )
        except NotFound:
            try:
                self.store.functions.transition_invocation(
                    inv_uuid,
                    InvocationStatus.FAILED,
                    reason="the function was deleted",
                    finished_at=time.time(),
                )
            except ZunrayError:
                pass
        except InvalidTransition:
            pass
        except Exception:  # a bug must not lose the invocation: it stays in the store
            log.exception("asynchronous invocation %s", inv_uuid)
        finally:
            self._async.discard(inv_uuid)
